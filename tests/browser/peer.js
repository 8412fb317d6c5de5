// A livekit-client participant for the Chromium tests. Query: url, token, mode (publish|listen), peer, freq.
// It sets window.lkResult and window.lkDone; the Playwright driver (clients/browser_peer.py) reads them.
/* global LivekitClient */
const params = new URLSearchParams(location.search);
const { Room, RoomEvent, LocalAudioTrack, Track, setLogLevel } = LivekitClient;
if (params.get('debug')) setLogLevel('debug');
const status = (text) => { document.getElementById('status').textContent = text; console.log(text); };
window.lkDone = false;

function finish(result) {
  window.lkResult = result;
  window.lkDone = true;
  status('done');
}

// Listeners go on before connect(): events can fire while connect() is still resolving.
function nextEvent(room, event, predicate) {
  return new Promise((resolve) => {
    room.on(event, (...args) => { if (predicate(...args)) resolve(args); });
  });
}

async function publishTone(room, ctx, ready) {
  // silence until the listener says "ready", then a sine tone
  const osc = ctx.createOscillator();
  osc.frequency.value = Number(params.get('freq'));
  const gain = ctx.createGain();
  gain.gain.value = 0;
  const dest = ctx.createMediaStreamDestination();
  osc.connect(gain).connect(dest);
  osc.start();
  const track = new LocalAudioTrack(dest.stream.getAudioTracks()[0], undefined, false, ctx);
  const publication = await room.localParticipant.publishTrack(track, {
    source: Track.Source.Microphone, dtx: false, red: false,
  });
  status('published ' + publication.trackSid);
  await ready;
  gain.gain.value = 0.5;
  const toneStart = Date.now() / 1000;
  await new Promise((resolve) => setTimeout(resolve, 3000));
  gain.gain.value = 0;
  await new Promise((resolve) => setTimeout(resolve, 500));
  return { track_sid: publication.trackSid, tone_start: toneStart };
}

async function listen(room, ctx, subscribed) {
  const peer = params.get('peer');
  const [track, publication] = await subscribed;
  const trackSid = publication.trackSid;
  status('subscribed ' + trackSid);
  // Chrome only feeds remote WebRTC audio into WebAudio while a media element plays it.
  const element = track.attach();
  element.muted = true;
  document.body.appendChild(element);
  const source = ctx.createMediaStreamSource(new MediaStream([track.mediaStreamTrack]));
  const processor = ctx.createScriptProcessor(4096, 1, 1);
  const mute = ctx.createGain();
  mute.gain.value = 0;
  const samples = [];
  let onset = null;
  const heard = new Promise((resolve) => {
    processor.onaudioprocess = (event) => {
      const data = event.inputBuffer.getChannelData(0);
      let sum = 0;
      for (const v of data) sum += v * v;
      const rms = Math.sqrt(sum / data.length);
      if (onset === null && rms > 0.05) onset = Date.now() / 1000;
      if (onset !== null) {
        samples.push(...data);
        if (samples.length >= ctx.sampleRate) resolve();
      }
    };
  });
  source.connect(processor).connect(mute).connect(ctx.destination);
  await room.localParticipant.publishData(new TextEncoder().encode('ready'), {
    reliable: true, topic: 'ready', destinationIdentities: [peer],
  });
  await heard;
  processor.disconnect();
  return { track_sid: trackSid, onset, sample_rate: ctx.sampleRate, samples: Array.from(samples) };
}

(async () => {
  try {
    const ctx = new AudioContext({ sampleRate: 48000 });
    await ctx.resume();
    const room = new Room();
    const peer = params.get('peer');
    const ready = nextEvent(room, RoomEvent.DataReceived, (payload, participant, kind, topic) => topic === 'ready');
    const subscribed = nextEvent(room, RoomEvent.TrackSubscribed,
      (track, publication, participant) => participant.identity === peer && track.kind === Track.Kind.Audio);
    await room.connect(params.get('url'), params.get('token'));
    status('connected as ' + room.localParticipant.identity);
    const result = params.get('mode') === 'publish'
      ? await publishTone(room, ctx, ready) : await listen(room, ctx, subscribed);
    await room.disconnect();
    finish({ ok: true, ...result });
  } catch (err) {
    finish({ ok: false, error: String(err && err.stack || err) });
  }
})();
