"""A simulated candidate (real livekit rtc SDK) that runs inside the test's network namespace.

It joins with the token the control plane issued (which dispatches the interviewer), waits for the
agent's greeting and measures it, then answers by publishing real speech (16 kHz mono PCM from a file).
It waits for the agent's reply, optionally waits for a signal file, leaves, and prints one JSON line.
With --skip-greeting (a candidate rejoining an interview already under way) it answers at once. When the
server disconnects it, it prints `{"disconnect_reason": NAME}` (a livekit DisconnectReason) and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
from livekit import rtc

RATE = 16000
FRAME = 320  # 20 ms
LOUD_RMS = 300.0


def log(*parts: object) -> None:
    print(f"[{time.monotonic():.3f}]", *parts, file=sys.stderr, flush=True)


class AgentAudio:
    """Tracks how much non-silent audio the agent sent, and when."""

    def __init__(self) -> None:
        self.loud_s = 0.0
        self.total_s = 0.0
        self.peak_rms = 0.0
        self.last_loud_at = 0.0
        self.loud_since_mark = 0.0

    async def listen(self, track: rtc.Track) -> None:
        stream = rtc.AudioStream(track, sample_rate=RATE, num_channels=1)
        async for event in stream:
            samples = np.frombuffer(event.frame.data, dtype=np.int16).astype(np.float64)
            seconds = samples.size / RATE
            level = float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0
            self.total_s += seconds
            self.peak_rms = max(self.peak_rms, level)
            if level > LOUD_RMS:
                self.loud_s += seconds
                self.loud_since_mark += seconds
                self.last_loud_at = time.monotonic()

    def quiet_for(self) -> float:
        return time.monotonic() - self.last_loud_at if self.last_loud_at else 0.0


async def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)


async def speak(source: rtc.AudioSource, pcm: bytes) -> None:
    for start in range(0, len(pcm), FRAME * 2):
        chunk = pcm[start : start + FRAME * 2].ljust(FRAME * 2, b"\0")
        frame = rtc.AudioFrame(chunk, RATE, 1, FRAME)
        await source.capture_frame(frame)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--answer-wav", required=True)
    parser.add_argument("--leave-when", default="", help="leave once this file exists")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--skip-greeting", action="store_true", help="answer without waiting for a greeting")
    args = parser.parse_args()
    with wave.open(args.answer_wav, "rb") as wav:
        answer = wav.readframes(wav.getnframes())

    room = rtc.Room()
    agent_audio = AgentAudio()
    agent: dict[str, Any] = {}
    listeners: set[asyncio.Future[None]] = set()

    @room.on("track_subscribed")
    def _subscribed(
        track: rtc.Track, _pub: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant
    ) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO:
            agent.update(
                identity=participant.identity,
                kind=int(participant.kind),
                attributes=dict(participant.attributes),
            )
            listeners.add(asyncio.ensure_future(agent_audio.listen(track)))

    leaving = False

    @room.on("disconnected")
    def _disconnected(reason: rtc.DisconnectReason.ValueType) -> None:
        if not leaving:
            name = rtc.DisconnectReason.Name(reason)
            log("disconnected by the server:", name)
            print(json.dumps({"disconnect_reason": name}), flush=True)
            os._exit(0)

    await room.connect(args.url, args.token)
    log("joined", room.name, room.local_participant.identity, room.local_participant.sid)
    source = rtc.AudioSource(RATE, 1, queue_size_ms=40)
    track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
    await room.local_participant.publish_track(
        track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    )
    silence = bytes(FRAME * 2 * 25)  # keep the track alive with silence while listening

    async def keep_quiet(predicate: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(what)
            await speak(source, silence)

    # The greeting: at least two seconds of agent speech, then a pause (it asks whether we are ready).
    if not args.skip_greeting:
        await keep_quiet(
            lambda: agent_audio.loud_s > 2.0 and agent_audio.quiet_for() > 1.5, args.timeout, "greeting"
        )
    greeting_s = agent_audio.loud_s
    log("greeting heard", greeting_s)
    agent_audio.loud_since_mark = 0.0
    await speak(source, answer)
    await keep_quiet(lambda: agent_audio.loud_since_mark > 1.0, args.timeout, "reply to the answer")
    log("reply heard", agent_audio.loud_since_mark)
    if args.leave_when:
        await keep_quiet(lambda: Path(args.leave_when).exists(), args.timeout, "leave signal")
    result = {
        "greeting_loud_s": round(greeting_s, 2),
        "peak_rms": round(agent_audio.peak_rms, 1),
        "reply_loud_s": round(agent_audio.loud_since_mark, 2),
        "agent": agent,
    }
    leaving = True
    await room.disconnect()
    print(json.dumps(result), flush=True)
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())
