// An interview candidate in livekit-client, reading the interviewer the way LiveKit's React hooks do:
// the agent's `lk.agent.state` attribute (useVoiceAssistant / useAgent) and `lk.transcription` text
// streams (useTranscriptions / useTextStream). Query: url, token. window.answerWav (base64 WAV, set by the
// driver) is spoken into the published microphone once the greeting is over.
// It sets window.lkResult and window.lkDone; the Playwright driver (tests/agent/clients/browser_candidate.py)
// reads them.
/* global LivekitClient */
const params = new URLSearchParams(location.search);
const { Room, RoomEvent, ParticipantKind, LocalAudioTrack, Track, setLogLevel } = LivekitClient;
if (params.get('debug')) setLogLevel('debug');
const STATE = 'lk.agent.state';
const t0 = performance.now();
const now = () => Math.round(performance.now() - t0);
const status = (text) => { document.getElementById('status').textContent = text; console.log(`[${now()}] ${text}`); };
window.lkDone = false;

const states = [];   // {state, at}
const streams = [];  // one per lk.transcription text stream
let onChange = () => {};
const changed = () => onChange();

function until(predicate, what, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    const check = () => { if (predicate()) { clearTimeout(timer); onChange = () => {}; resolve(); } };
    onChange = check;
    check();
  });
}

function noteState(participant) {
  if (participant.kind !== ParticipantKind.AGENT) return;
  const state = participant.attributes[STATE];
  if (state && (states.length === 0 || states[states.length - 1].state !== state)) {
    states.push({ state, at: now() });
    status('agent state ' + state);
    changed();
  }
}

// `sequence` appears in `states` in this order (other states may come between).
function seen(sequence, from = 0) {
  let i = 0;
  for (const { state } of states.slice(from)) if (state === sequence[i] && ++i === sequence.length) return true;
  return false;
}

async function speakerTrack(ctx) {
  const dest = ctx.createMediaStreamDestination();
  const bytes = Uint8Array.from(atob(window.answerWav), (c) => c.charCodeAt(0));
  const buffer = await ctx.decodeAudioData(bytes.buffer);
  const track = new LocalAudioTrack(dest.stream.getAudioTracks()[0], undefined, false, ctx);
  const speak = () => new Promise((resolve) => {
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(dest);
    source.onended = resolve;
    source.start();
  });
  return { track, speak };
}

(async () => {
  const room = new Room();
  try {
    const ctx = new AudioContext({ sampleRate: 48000 });
    await ctx.resume();
    // Handlers go on before connect(), as the hooks do: streams and attributes can arrive at once.
    room.registerTextStreamHandler('lk.transcription', async (reader, participantInfo) => {
      const entry = {
        identity: participantInfo.identity,
        header: { ...reader.info.attributes },
        id: reader.info.id,
        text: '',
        chunks: 0,
        at: now(),
      };
      streams.push(entry);
      for await (const chunk of reader) { entry.text += chunk; entry.chunks += 1; changed(); }
      entry.attributes = { ...reader.info.attributes };  // with the trailer's attributes merged in
      entry.done = now();
      status(`transcription from ${entry.identity} final=${entry.attributes['lk.transcription_final']}: ${entry.text}`);
      changed();
    });
    room.on(RoomEvent.ParticipantConnected, noteState);
    room.on(RoomEvent.ParticipantAttributesChanged, (_changed, participant) => noteState(participant));
    await room.connect(params.get('url'), params.get('token'));
    const me = room.localParticipant.identity;
    status('connected as ' + me);
    room.remoteParticipants.forEach(noteState);

    const { track, speak } = await speakerTrack(ctx);
    const publication = await room.localParticipant.publishTrack(track, {
      source: Track.Source.Microphone, dtx: false, red: false,
    });
    status('published ' + publication.trackSid);

    // The greeting: the agent speaks, then listens (for a while: it may pause between sentences).
    const quietFor = (ms) => states.length > 0 && states[states.length - 1].state === 'listening'
      && now() - states[states.length - 1].at >= ms;
    while (!(seen(['speaking', 'listening']) && quietFor(1500))) {
      await until(() => seen(['speaking', 'listening']) && quietFor(0), 'the greeting', 180000);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const answerFrom = states.length;
    status('answering');
    await speak();
    status('answered');
    // The reply: the candidate's final transcription, the agent thinks, speaks, listens again.
    await until(
      () => seen(['thinking', 'speaking', 'listening'], answerFrom)
        && streams.some((s) => s.identity === me && s.done && s.attributes['lk.transcription_final'] === 'true')
        && streams.filter((s) => s.identity !== me && s.done).length >= 2,
      'the reply', 120000,
    );
    const agent = [...room.remoteParticipants.values()].find((p) => p.kind === ParticipantKind.AGENT);
    const agentMic = agent && agent.getTrackPublication(Track.Source.Microphone);
    await room.disconnect();
    window.lkResult = {
      ok: true, identity: me, mic_track_sid: publication.trackSid, agent_identity: agent && agent.identity,
      agent_track_sid: agentMic && agentMic.trackSid, states, streams,
    };
  } catch (err) {
    window.lkResult = { ok: false, error: String((err && err.stack) || err), states, streams };
    await room.disconnect();
  }
  window.lkDone = true;
  status('done');
})();
