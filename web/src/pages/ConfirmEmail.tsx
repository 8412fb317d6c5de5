import { useEffect, useState } from 'react';

import { publicApi } from '../api/client';
import { errorMessage, unwrap } from '../api/problem';
import { Notice } from '../components/Notice';
import { Link, useLocation } from '../router';

type State = { kind: 'working' } | { kind: 'done'; email: string } | { kind: 'failed'; message: string };

/** The page the sign-up email links to: `/confirm-email?token=…`. */
export function ConfirmEmailPage() {
  const { query } = useLocation();
  const token = query.get('token') ?? '';
  const [state, setState] = useState<State>({ kind: 'working' });

  useEffect(() => {
    let live = true;
    const confirm = token
      ? publicApi().POST('/auth/confirm-email', { body: { token } }).then(unwrap)
      : Promise.reject(new Error('This link has no confirmation token. Open the link from the email again.'));
    confirm.then(
      (user) => live && setState({ kind: 'done', email: user.email }),
      (e: unknown) => live && setState({ kind: 'failed', message: errorMessage(e) }),
    );
    return () => {
      live = false;
    };
  }, [token]);

  return (
    <section className="narrow" aria-labelledby="confirm-title" aria-live="polite">
      <h1 id="confirm-title">Confirm your email</h1>
      {state.kind === 'working' && <p role="status">Confirming your address…</p>}
      {state.kind === 'done' && (
        <>
          <Notice kind="success" testId="confirm-done">
            {state.email} is confirmed.
          </Notice>
          <p>
            <Link to="/sign-in">Sign in</Link> to start an interview.
          </p>
        </>
      )}
      {state.kind === 'failed' && (
        <>
          <Notice kind="error" testId="confirm-failed">
            {state.message}
          </Notice>
          <p>
            Links expire after a day. <Link to="/sign-up">Sign up again</Link> to get a new one.
          </p>
        </>
      )}
    </section>
  );
}
