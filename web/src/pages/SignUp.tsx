import { useState, type FormEvent } from 'react';

import { publicApi } from '../api/client';
import { errorMessage, unwrap } from '../api/problem';
import { Notice } from '../components/Notice';
import { Link } from '../router';

export function SignUpPage() {
  const [error, setError] = useState<string | null>(null);
  const [sent, setSent] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    if (form.get('password') !== form.get('confirm')) {
      setError('The two passwords are not the same.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const body = {
        email: String(form.get('email')).trim(),
        display_name: String(form.get('display_name')).trim(),
        password: String(form.get('password')),
      };
      setSent(unwrap(await publicApi().POST('/auth/register', { body })).detail ?? 'Check your inbox.');
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  if (sent) {
    return (
      <section className="narrow" aria-labelledby="sign-up-title">
        <h1 id="sign-up-title">Check your inbox</h1>
        <Notice kind="success" testId="sign-up-sent">{sent}</Notice>
        <p>
          Once you have confirmed your address, <Link to="/sign-in">sign in</Link>.
        </p>
      </section>
    );
  }
  return (
    <section className="narrow" aria-labelledby="sign-up-title">
      <h1 id="sign-up-title">Create an account</h1>
      {error && <Notice kind="error" testId="sign-up-error">{error}</Notice>}
      <form onSubmit={(e) => void submit(e)} data-testid="sign-up-form">
        <label htmlFor="display_name">Your name</label>
        <input id="display_name" name="display_name" autoComplete="name" required maxLength={120} />
        <label htmlFor="email">Email</label>
        <input id="email" name="email" type="email" autoComplete="email" required maxLength={320} />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          minLength={10}
          maxLength={256}
          aria-describedby="password-hint"
        />
        <p id="password-hint" className="hint">
          At least 10 characters.
        </p>
        <label htmlFor="confirm">Password again</label>
        <input id="confirm" name="confirm" type="password" autoComplete="new-password" required minLength={10} />
        <button type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create account'}
        </button>
      </form>
      <p>
        Already have an account? <Link to="/sign-in">Sign in</Link>
      </p>
    </section>
  );
}
