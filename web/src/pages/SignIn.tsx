import { useState, type FormEvent } from 'react';

import { errorMessage } from '../api/problem';
import { useAuth } from '../auth';
import { Notice } from '../components/Notice';
import { Link, navigate, useLocation } from '../router';

/** Only paths of this app, never another site, are followed after sign-in. */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export function SignInPage() {
  const { signIn, notice, user } = useAuth();
  const { query } = useLocation();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await signIn(String(form.get('email')).trim(), String(form.get('password')));
      navigate(safeNext(query.get('next')), { replace: true });
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="narrow" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Sign in</h1>
      {notice && !error && <Notice kind="info" testId="auth-notice">{notice}</Notice>}
      {user && <Notice kind="info">You are signed in as {user.email}.</Notice>}
      {error && <Notice kind="error" testId="sign-in-error">{error}</Notice>}
      <form onSubmit={(e) => void submit(e)} data-testid="sign-in-form">
        <label htmlFor="email">Email</label>
        <input id="email" name="email" type="email" autoComplete="username" required />
        <label htmlFor="password">Password</label>
        <input id="password" name="password" type="password" autoComplete="current-password" required />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p>
        New here? <Link to="/sign-up">Create an account</Link>
      </p>
    </section>
  );
}
