// A voice-agent page built only from LiveKit's stock React hooks and components, the way LiveKit's
// agent-starter-react joins an agent: TokenSource.endpoint + useSession + SessionProvider, then useAgent for the
// agent's state and useTranscriptions for both sides' words. Nothing from CodeVoice: the only CodeVoice-specific
// things are the URL of its token endpoint and a fetch of a bearer token (sign-in) to send with it.
//
// The microphone menu is the stock MediaDeviceSelect, as the starter's control bar has one.
//
// Query string: api (the control plane's origin), email, password, room (the interview's room name).
import {
  MediaDeviceSelect,
  RoomAudioRenderer,
  SessionProvider,
  StartAudio,
  useAgent,
  useLocalParticipant,
  useSession,
  useTranscriptions,
} from '@livekit/components-react';
import { TokenSource } from 'livekit-client';
import { useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';

const params = new URLSearchParams(window.location.search);
const api = params.get('api');

async function signIn() {
  const response = await fetch(`${api}/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: params.get('email'), password: params.get('password') }),
  });
  if (!response.ok) throw new Error(`sign-in answered ${response.status}`);
  return (await response.json()).access_token;
}

function Voice({ bearer }) {
  const [tokenSource] = useState(() =>
    TokenSource.endpoint(`${api}/livekit/token`, { headers: { Authorization: `Bearer ${bearer}` } }),
  );
  const session = useSession(tokenSource, { roomName: params.get('room'), agentName: 'codevoice-interviewer' });
  const { start, end } = session;
  useEffect(() => {
    start({ tracks: { microphone: { enabled: true } } }).catch((e) => {
      document.body.dataset.error = String(e);
    });
    return () => void end();
  }, [start, end]);
  return (
    <SessionProvider session={session}>
      <RoomAudioRenderer />
      <StartAudio label="Allow audio" />
      <MediaDeviceSelect kind="audioinput" />
      <AgentView />
    </SessionProvider>
  );
}

function AgentView() {
  const agent = useAgent();
  const { localParticipant } = useLocalParticipant();
  const transcriptions = useTranscriptions();
  return (
    <section>
      <p id="agent-state" data-state={agent.state} data-identity={agent.identity ?? ''}>
        Agent: {agent.state}
      </p>
      <p id="me" data-identity={localParticipant.identity}>
        You: {localParticipant.identity}
      </p>
      <ol id="transcriptions">
        {transcriptions.map((t) => (
          <li
            key={t.streamInfo.id}
            data-identity={t.participantInfo.identity}
            data-final={t.streamInfo.attributes?.['lk.transcription_final'] ?? ''}
          >
            {t.text}
          </li>
        ))}
      </ol>
    </section>
  );
}

function App() {
  const [bearer, setBearer] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    signIn().then(setBearer, (e) => setError(String(e)));
  }, []);
  if (error) return <p id="error">{error}</p>;
  return bearer ? <Voice bearer={bearer} /> : <p>Signing in…</p>;
}

createRoot(document.getElementById('root')).render(<App />);
