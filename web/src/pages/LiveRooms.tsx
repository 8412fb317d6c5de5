import { useState } from 'react';

import { errorMessage, unwrap } from '../api/problem';
import { useAuth } from '../auth';
import { Notice } from '../components/Notice';
import { formatDate } from '../lib/format';
import { useLoader } from '../lib/useLoader';
import { Link } from '../router';

const REFRESH_MS = 5000;

/** The interviews running now, refreshed every few seconds, each with a way to end it. */
export function LiveRoomsPage() {
  const { api } = useAuth();
  const rooms = useLoader(async () => unwrap(await api.GET('/rooms/live')).rooms, 'rooms', () => REFRESH_MS);
  const [message, setMessage] = useState<{ kind: 'error' | 'success'; text: string } | null>(null);

  const endRoom = async (sessionId: string, who: string) => {
    if (!window.confirm(`End the interview with ${who} now? Both sides are disconnected.`)) return;
    try {
      unwrap(await api.POST('/sessions/{session_id}/end', { params: { path: { session_id: sessionId } } }));
      setMessage({ kind: 'success', text: `The interview with ${who} is ending.` });
      rooms.reload();
    } catch (e) {
      setMessage({ kind: 'error', text: errorMessage(e) });
    }
  };

  return (
    <section aria-labelledby="rooms-title">
      <h1 id="rooms-title">Live rooms</h1>
      <p className="muted">Updates every {REFRESH_MS / 1000} seconds.</p>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
      {rooms.error !== undefined && <Notice kind="error">{errorMessage(rooms.error)}</Notice>}
      {rooms.data?.length === 0 && <p data-testid="no-rooms">No interview is running now.</p>}
      <ul className="rooms" data-testid="live-rooms" aria-live="polite">
        {rooms.data?.map((room) => (
          <li key={room.room_name} className="room" data-testid="live-room">
            <h2>
              <Link to={`/interviews/${room.session_id}`}>{room.candidate_name || 'Candidate'}</Link>
            </h2>
            <p className="muted">
              Room {room.room_name} · started {formatDate(room.started_at)}
            </p>
            <ul aria-label="Participants">
              {room.participants.map((p) => (
                <li key={p.identity}>
                  {p.name || p.identity} ({p.kind === 'agent' ? 'interviewer' : 'participant'})
                  {p.agent_state && <> · state: <strong>{p.agent_state}</strong></>}
                </li>
              ))}
            </ul>
            <button type="button" className="danger" onClick={() => void endRoom(room.session_id, room.candidate_name || room.room_name)}>
              End interview<span className="visually-hidden"> with {room.candidate_name || room.room_name}</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
