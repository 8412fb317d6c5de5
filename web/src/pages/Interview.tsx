import { useCallback, useState } from 'react';

import { errorMessage, unwrap } from '../api/problem';
import { useAuth } from '../auth';
import { Notice } from '../components/Notice';
import { formatDate, statusLabel } from '../lib/format';
import { useLoader } from '../lib/useLoader';
import { AfterInterview } from './AfterInterview';
import { LiveInterview } from './LiveInterview';
import { PreJoin } from './PreJoin';

const FINAL = new Set(['completed', 'failed', 'cancelled']);

type Phase =
  | { kind: 'prejoin' }
  | { kind: 'joining' }
  | { kind: 'room'; attempt: number; accessToken: string; deviceId: string }
  | { kind: 'finishing' };

/** One interview: before (microphone check), during (the room) and after (summary and transcript). */
export function InterviewPage({ sessionId }: { sessionId: string }) {
  const { api, auth } = useAuth();
  const [phase, setPhase] = useState<Phase>({ kind: 'prejoin' });
  const [error, setError] = useState<string | null>(null);
  const [deviceId, setDeviceId] = useState('');
  const loaded = useLoader(
    async () => unwrap(await api.GET('/sessions/{session_id}', { params: { path: { session_id: sessionId } } })),
    `session:${sessionId}`,
    // In the room, the session turns live once the interviewer joins; while the room is closing it is still
    // live for a moment. Watch for both, so the status shown is the server's.
    (s) =>
      (phase.kind === 'room' && s?.status === 'created') || (phase.kind === 'finishing' && (!s || !FINAL.has(s.status)))
        ? 2000
        : null,
  );
  const session = loaded.data;
  const { reload } = loaded;

  const join = useCallback(
    async (chosen: string, attempt: number) => {
      setPhase({ kind: 'joining' });
      setError(null);
      setDeviceId(chosen);
      try {
        setPhase({ kind: 'room', attempt, accessToken: await auth.accessToken(), deviceId: chosen });
        // The refresh interval is decided after each load: load once more in the room phase, so the page
        // keeps polling until the interviewer has joined and the session is live.
        reload();
      } catch (e) {
        setError(errorMessage(e));
        setPhase({ kind: 'prejoin' });
      }
    },
    [auth, reload],
  );
  const ended = useCallback(() => {
    setPhase({ kind: 'finishing' });
    loaded.reload();
  }, [loaded]);
  const attempt = phase.kind === 'room' ? phase.attempt : 0;
  const retry = useCallback(() => void join(deviceId, attempt + 1), [join, deviceId, attempt]);

  if (!session) {
    return (
      <section aria-labelledby="interview-title">
        <h1 id="interview-title">Interview</h1>
        {loaded.error !== undefined ? <Notice kind="error">{errorMessage(loaded.error)}</Notice> : <p role="status">Loading…</p>}
      </section>
    );
  }

  const final = FINAL.has(session.status);
  return (
    <article aria-labelledby="interview-title" data-testid="interview" data-status={session.status}>
      <header className="interview-header">
        <h1 id="interview-title">
          {session.role_title} <span className="muted">({session.seniority})</span>
        </h1>
        <p>
          Topics: {session.topics.join(', ')} · {session.planned_duration_minutes} minutes · Created {formatDate(session.created_at)}
          {' · '}
          <span className={`badge status-${session.status}`} data-testid="session-status">
            {statusLabel(session.status)}
          </span>
        </p>
      </header>
      {error && <Notice kind="error">{error}</Notice>}
      {final ? (
        <AfterInterview session={session} />
      ) : phase.kind === 'room' ? (
        <LiveInterview
          key={phase.attempt}
          session={session}
          accessToken={phase.accessToken}
          deviceId={phase.deviceId}
          onEnded={ended}
          onRetry={retry}
        />
      ) : phase.kind === 'finishing' ? (
        <p role="status" data-testid="finishing">
          The interview has ended. Saving the transcript and starting the summary…
        </p>
      ) : (
        <PreJoin onJoin={(id) => void join(id, 1)} joining={phase.kind === 'joining'} rejoin={session.status === 'live'} />
      )}
    </article>
  );
}
