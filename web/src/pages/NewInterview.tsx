import { useState, type FormEvent } from 'react';

import { SENIORITIES, type Seniority } from '../api/contract';
import { errorMessage, unwrap } from '../api/problem';
import { useAuth } from '../auth';
import { Notice } from '../components/Notice';
import { navigate } from '../router';

export function NewInterviewPage() {
  const { api, user } = useAuth();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const topics = String(form.get('topics'))
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    if (topics.length === 0 || topics.length > 8) {
      setError('Name between one and eight topics, separated by commas.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const body = {
        role_title: String(form.get('role_title')).trim(),
        seniority: String(form.get('seniority')) as Seniority,
        topics,
        planned_duration_minutes: Number(form.get('planned_duration_minutes')),
      };
      const session = unwrap(await api.POST('/sessions', { body }));
      navigate(`/interviews/${session.id}`);
    } catch (e) {
      setError(errorMessage(e));
      setBusy(false);
    }
  };

  return (
    <section className="narrow" aria-labelledby="new-title">
      <h1 id="new-title">Start an interview</h1>
      <p>
        Hello{user ? `, ${user.display_name}` : ''}. Choose a role and a few topics; the interviewer asks questions and
        follow-ups by voice, and you get a scorecard afterwards.
      </p>
      {error && <Notice kind="error" testId="create-error">{error}</Notice>}
      <form onSubmit={(e) => void submit(e)} data-testid="new-interview-form">
        <label htmlFor="role_title">Role</label>
        <input id="role_title" name="role_title" required minLength={2} maxLength={120} placeholder="Backend engineer" />
        <label htmlFor="seniority">Level</label>
        <select id="seniority" name="seniority" defaultValue="mid">
          {SENIORITIES.map((s) => (
            <option key={s} value={s}>
              {s[0]?.toUpperCase() + s.slice(1)}
            </option>
          ))}
        </select>
        <label htmlFor="topics">Topics</label>
        <input id="topics" name="topics" required aria-describedby="topics-hint" placeholder="System Design, SQL" />
        <p id="topics-hint" className="hint">
          One to eight, separated by commas.
        </p>
        <label htmlFor="planned_duration_minutes">Length (minutes)</label>
        <input
          id="planned_duration_minutes"
          name="planned_duration_minutes"
          type="number"
          min={5}
          max={120}
          defaultValue={20}
          required
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create interview'}
        </button>
      </form>
    </section>
  );
}
