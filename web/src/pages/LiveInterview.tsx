import {
  RoomAudioRenderer,
  SessionProvider,
  StartAudio,
  useAgent,
  useConnectionState,
  useMediaDeviceSelect,
  useSession,
  useSessionContext,
  useTrackToggle,
  useTrackVolume,
  useTranscriptions,
} from '@livekit/components-react';
import { ConnectionState, Room, TokenSource, Track } from 'livekit-client';
import { useEffect, useRef, useState } from 'react';

import type { SessionOut } from '../api/contract';
import { errorMessage, unwrap } from '../api/problem';
import { useAuth } from '../auth';
import { MicLevel } from '../components/MicLevel';
import { Notice } from '../components/Notice';
import { formatClock } from '../lib/format';
import { mergeTranscript, type TranscriptLine } from '../lib/transcript';

/** How long the interviewer has to join before the candidate is offered a retry. */
export const AGENT_JOIN_TIMEOUT_MS = 20_000;

const STATE_LABELS: Record<string, string> = {
  connecting: 'Connecting…',
  'pre-connect-buffering': 'Connecting…',
  initializing: 'The interviewer is getting ready…',
  idle: 'Listening',
  listening: 'Listening',
  thinking: 'Thinking…',
  speaking: 'Speaking',
  disconnected: 'Not connected',
  failed: 'The interviewer did not join',
};

interface Props {
  session: SessionOut;
  accessToken: string;
  deviceId: string;
  /** The room closed: by the End button, or by the interviewer finishing the interview. */
  onEnded: () => void;
  /** Join again with a new token (the interviewer did not join, or the connection failed). */
  onRetry: () => void;
}

/** One attempt at the interview room: mount it with a new key to try again. */
export function LiveInterview({ session, accessToken, deviceId, onEnded, onRetry }: Props) {
  const [tokenSource] = useState(() =>
    TokenSource.endpoint('/livekit/token', { headers: { Authorization: `Bearer ${accessToken}` } }),
  );
  const [room] = useState(
    () => new Room({ audioCaptureDefaults: deviceId ? { deviceId } : {}, adaptiveStream: false, dynacast: false }),
  );
  const lk = useSession(tokenSource, { room, roomName: session.room_name, agentConnectTimeoutMilliseconds: AGENT_JOIN_TIMEOUT_MS });
  const [joinError, setJoinError] = useState<string | null>(null);
  const { start, end } = lk;

  useEffect(() => {
    start({ tracks: { microphone: { enabled: true, publishOptions: { preConnectBuffer: false } } } }).catch((e: unknown) =>
      setJoinError(`Could not connect to the interview room (${errorMessage(e)}). Check your connection, then try again.`),
    );
    return () => void end();
  }, [start, end]);

  return (
    <SessionProvider session={lk}>
      <RoomAudioRenderer />
      <StartAudio label="Allow audio: the browser blocked the interviewer's voice" className="start-audio" />
      <InterviewView session={session} joinError={joinError} onEnded={onEnded} onRetry={onRetry} />
    </SessionProvider>
  );
}

function InterviewView({
  session,
  joinError,
  onEnded,
  onRetry,
}: Pick<Props, 'session' | 'onEnded' | 'onRetry'> & { joinError: string | null }) {
  const lk = useSessionContext();
  const { api } = useAuth();
  const agent = useAgent();
  const connection = useConnectionState();
  const [ending, setEnding] = useState(false);
  const wasConnected = useRef(false);
  const [agentTimedOut, setAgentTimedOut] = useState(false);
  const agentJoined = agent.internal.agentParticipant !== null;

  useEffect(() => {
    if (connection === ConnectionState.Connected) wasConnected.current = true;
    if (connection === ConnectionState.Disconnected && wasConnected.current) onEnded();
  }, [connection, onEnded]);

  // From the first attempt to connect: the room unreachable and the interviewer absent both end here.
  useEffect(() => {
    if (agentJoined) return;
    const timer = window.setTimeout(() => setAgentTimedOut(true), AGENT_JOIN_TIMEOUT_MS);
    return () => window.clearTimeout(timer);
  }, [agentJoined]);

  const endInterview = async () => {
    setEnding(true);
    // End it on the server too: a candidate who only leaves the room is waited for (the rejoin grace period).
    try {
      unwrap(await api.POST('/sessions/{session_id}/end', { params: { path: { session_id: session.id } } }));
    } catch {
      // Already over, or LiveKit unreachable: leaving the room still ends it once the grace period is up.
    }
    await lk.end();
    onEnded();
  };

  const failed = agent.state === 'failed' || (agentTimedOut && !agentJoined) || joinError !== null;
  if (failed) {
    return (
      <section aria-labelledby="failed-title" className="narrow" data-testid="agent-failed">
        <h2 id="failed-title">{joinError ? 'Could not join the interview' : 'The interviewer has not joined'}</h2>
        <Notice kind="error">
          {joinError ??
            (connection === ConnectionState.Connected
              ? 'The interviewer did not join the room in time. This is usually brief: try again.'
              : 'Could not connect to the interview room. Check your connection, then try again.')}
        </Notice>
        <button type="button" className="primary" onClick={() => void lk.end().then(onRetry)} data-testid="retry">
          Try again
        </button>
      </section>
    );
  }

  const stateLabel = STATE_LABELS[agent.state] ?? agent.state;
  return (
    <section aria-labelledby="live-title" className="live" data-testid="live-interview">
      <h2 id="live-title" className="visually-hidden">
        Interview in progress
      </h2>
      {(connection === ConnectionState.Reconnecting || connection === ConnectionState.SignalReconnecting) && (
        <Notice kind="info" testId="reconnecting">
          Connection lost. Reconnecting… Your interview continues when the connection is back.
        </Notice>
      )}
      <div className="live-status">
        <p className={`agent-state agent-${agent.state}`} aria-live="polite" data-testid="agent-state" data-state={agent.state}>
          <span className="state-dot" aria-hidden="true" />
          Interviewer: <strong>{stateLabel}</strong>
        </p>
        <Timer plannedMinutes={session.planned_duration_minutes} running={connection === ConnectionState.Connected || connection === ConnectionState.Reconnecting} />
      </div>
      <Controls onEnd={() => void endInterview()} ending={ending} />
      <LiveTranscript />
    </section>
  );
}

function Timer({ plannedMinutes, running }: { plannedMinutes: number; running: boolean }) {
  const [elapsed, setElapsed] = useState(0);
  useEffect(() => {
    if (!running) return;
    const started = Date.now() - elapsed * 1000;
    const timer = window.setInterval(() => setElapsed(Math.floor((Date.now() - started) / 1000)), 1000);
    return () => window.clearInterval(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- restart from the current count only when pausing
  }, [running]);
  const planned = plannedMinutes * 60;
  const over = elapsed > planned;
  return (
    <p className="timer" data-testid="timer">
      <span className="visually-hidden">Elapsed time </span>
      <time>{formatClock(elapsed)}</time> / {formatClock(planned)}
      {over && <strong> (over time)</strong>}
    </p>
  );
}

function Controls({ onEnd, ending }: { onEnd: () => void; ending: boolean }) {
  const lk = useSessionContext();
  const mic = useTrackToggle({ source: Track.Source.Microphone });
  const level = useTrackVolume(lk.local.microphoneTrack);
  const { devices, activeDeviceId, setActiveMediaDevice } = useMediaDeviceSelect({ kind: 'audioinput' });
  return (
    <div className="controls">
      <MicLevel level={mic.enabled ? level : 0} />
      <button
        type="button"
        onClick={() => void mic.toggle()}
        disabled={mic.pending}
        aria-pressed={!mic.enabled}
        data-testid="mute"
      >
        {mic.enabled ? 'Mute' : 'Unmute'}
      </button>
      {!mic.enabled && <span className="badge">Muted: the interviewer cannot hear you</span>}
      {devices.length > 1 && (
        <>
          <label htmlFor="live-microphone" className="visually-hidden">
            Microphone
          </label>
          <select id="live-microphone" value={activeDeviceId} onChange={(e) => void setActiveMediaDevice(e.target.value)}>
            {devices.map((d, i) => (
              <option key={d.deviceId || i} value={d.deviceId}>
                {d.label || `Microphone ${i + 1}`}
              </option>
            ))}
          </select>
        </>
      )}
      <button type="button" className="danger" onClick={onEnd} disabled={ending} data-testid="end">
        {ending ? 'Ending…' : 'End interview'}
      </button>
    </div>
  );
}

function LiveTranscript() {
  const transcriptions = useTranscriptions();
  const lk = useSessionContext();
  const me = lk.room.localParticipant.identity;
  const [merged, setMerged] = useState<{ source: unknown; lines: readonly TranscriptLine[] }>({ source: null, lines: [] });
  if (merged.source !== transcriptions) {
    setMerged({ source: transcriptions, lines: mergeTranscript(merged.lines, transcriptions, me) });
  }
  const end = useRef<HTMLLIElement>(null);
  useEffect(() => {
    end.current?.scrollIntoView({ block: 'nearest' }); // a block: Chromium's scrollIntoView returns a promise
  }, [merged.lines]);

  return (
    <section aria-labelledby="live-transcript-title" className="transcript live-transcript">
      <h3 id="live-transcript-title">Transcript</h3>
      <ol aria-live="polite" aria-relevant="additions text" data-testid="live-transcript">
        {merged.lines.length === 0 && <li className="muted">The conversation will appear here.</li>}
        {merged.lines.map((line) => (
          <li key={line.id} className={`line line-${line.speaker}${line.final ? '' : ' interim'}`} data-testid="transcript-line" data-speaker={line.speaker}>
            <span className="speaker">{line.speaker === 'candidate' ? 'You' : 'Interviewer'}:</span> {line.text}
          </li>
        ))}
        <li ref={end} aria-hidden="true" className="transcript-end" />
      </ol>
    </section>
  );
}
