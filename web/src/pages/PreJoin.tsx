import { useMediaDeviceSelect, useTrackVolume } from '@livekit/components-react';
import { createLocalAudioTrack, MediaDeviceFailure, type LocalAudioTrack } from 'livekit-client';
import { useCallback, useEffect, useState } from 'react';

import { MicLevel } from '../components/MicLevel';
import { Notice } from '../components/Notice';

export function describeMediaError(error: unknown): string {
  switch (MediaDeviceFailure.getFailure(error)) {
    case MediaDeviceFailure.PermissionDenied:
      return 'The browser is not allowed to use your microphone. Allow microphone access for this site (the icon in the address bar), then try again.';
    case MediaDeviceFailure.NotFound:
      return 'No microphone was found. Connect one, then try again.';
    case MediaDeviceFailure.DeviceInUse:
      return 'Your microphone is in use by another application. Close it, then try again.';
    default:
      return error instanceof Error ? `The microphone could not be opened: ${error.message}` : 'The microphone could not be opened.';
  }
}

/** Before joining: choose the microphone and check that it hears you. */
export function PreJoin({ onJoin, joining, rejoin }: { onJoin: (deviceId: string) => void; joining: boolean; rejoin: boolean }) {
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  // Stable: the hook rebuilds its device list whenever its onError changes.
  const onDeviceError = useCallback((e: Error) => setError(describeMediaError(e)), []);
  const { devices, activeDeviceId, setActiveMediaDevice } = useMediaDeviceSelect({
    kind: 'audioinput',
    requestPermissions: true,
    onError: onDeviceError,
  });
  const [track, setTrack] = useState<LocalAudioTrack | undefined>();
  const level = useTrackVolume(track);

  useEffect(() => {
    let live = true;
    let opened: LocalAudioTrack | undefined;
    createLocalAudioTrack(activeDeviceId && activeDeviceId !== 'default' ? { deviceId: activeDeviceId } : {}).then(
      (t) => {
        opened = t;
        if (!live) return t.stop();
        setError(null);
        setTrack(t);
      },
      (e: unknown) => live && setError(describeMediaError(e)),
    );
    return () => {
      live = false;
      opened?.stop();
    };
  }, [activeDeviceId, attempt]);

  const noDevice = devices.length === 0 && !track;
  return (
    <section aria-labelledby="prejoin-title" className="narrow" data-testid="prejoin">
      <h2 id="prejoin-title">Check your microphone</h2>
      {error && (
        <Notice kind="error" testId="mic-error">
          {error}{' '}
          <button type="button" className="link-button" onClick={() => setAttempt((a) => a + 1)}>
            Try again
          </button>
        </Notice>
      )}
      <label htmlFor="microphone">Microphone</label>
      <select
        id="microphone"
        value={activeDeviceId}
        onChange={(e) => void setActiveMediaDevice(e.target.value)}
        disabled={devices.length === 0}
        data-testid="mic-select"
      >
        {devices.length === 0 && <option value="">No microphone available</option>}
        {devices.map((d, i) => (
          <option key={d.deviceId || i} value={d.deviceId}>
            {d.label || `Microphone ${i + 1}`}
          </option>
        ))}
      </select>
      <MicLevel level={track ? level : 0} label="Say something: level" />
      <button type="button" className="primary" onClick={() => onJoin(activeDeviceId)} disabled={joining || noDevice || !!error} data-testid="join">
        {joining ? 'Joining…' : rejoin ? 'Rejoin the interview' : 'Join the interview'}
      </button>
    </section>
  );
}
