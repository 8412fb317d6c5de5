"""Simulated candidates for bench/agent_webrtc.py: a few per process, one real rtc SDK room each.

Runs inside the benchmark's network namespace. Every candidate joins with its control plane token
(which dispatches the interviewer), publishes a microphone track and listens to the agent. Candidates
arrive one by one (`--stagger`); once every one has heard its greeting (or given up) the script prints
`ready` and waits for `go` on stdin; then each one
answers `--turns` times with real speech at real-time pace, measuring end of speech -> first agent audio
as the candidate hears it. It prints one JSON line with every candidate's figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from livekit import rtc

RATE = 16000
FRAME = 320  # 20 ms
LOUD_RMS = 300.0
SILENCE = bytes(FRAME * 2)


@dataclass
class AgentEar:
    """When the agent's audio was last loud, and when it first turned loud after a mark."""

    last_loud_at: float = 0.0
    first_loud_after_mark: float | None = None
    heard_any: bool = False

    async def listen(self, track: rtc.Track) -> None:
        async for event in rtc.AudioStream(track, sample_rate=RATE, num_channels=1):
            samples = np.frombuffer(event.frame.data, dtype=np.int16).astype(np.float32)
            if samples.size and float(np.sqrt(np.mean(samples**2))) > LOUD_RMS:
                now = time.monotonic()
                self.last_loud_at = now
                self.heard_any = True
                if self.first_loud_after_mark is None:
                    self.first_loud_after_mark = now

    def mark(self) -> None:
        self.first_loud_after_mark = None

    def quiet_for(self) -> float:
        return time.monotonic() - self.last_loud_at if self.last_loud_at else 0.0


@dataclass
class Candidate:
    token: str
    ear: AgentEar = field(default_factory=AgentEar)
    latencies_s: list[float] = field(default_factory=list)
    greeted: bool = False
    missed: int = 0
    room: rtc.Room = field(default_factory=rtc.Room)
    source: rtc.AudioSource | None = None
    listener: asyncio.Task[None] | None = None

    async def join(self, url: str) -> None:
        @self.room.on("track_subscribed")
        def _subscribed(track: rtc.Track, *_: object) -> None:
            if track.kind == rtc.TrackKind.KIND_AUDIO:
                self.listener = asyncio.ensure_future(self.ear.listen(track))

        await self.room.connect(url, self.token)
        self.source = rtc.AudioSource(RATE, 1, queue_size_ms=40)
        track = rtc.LocalAudioTrack.create_audio_track("microphone", self.source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        await self.room.local_participant.publish_track(track, options)

    async def send(self, pcm: bytes) -> None:
        """Publish PCM; the SDK's 40 ms queue paces it at real time."""
        assert self.source is not None
        for start in range(0, len(pcm), FRAME * 2):
            chunk = pcm[start : start + FRAME * 2].ljust(FRAME * 2, b"\0")
            await self.source.capture_frame(rtc.AudioFrame(chunk, RATE, 1, FRAME))

    async def quiet_until(self, done: object, timeout: float) -> bool:
        """Keep the microphone open with silence (the agent's VAD needs frames) until done() or timeout."""
        deadline = time.monotonic() + timeout
        while not done():  # type: ignore[operator]
            if time.monotonic() > deadline:
                return False
            await self.send(SILENCE)
        return True

    async def arrive(self, url: str, delay: float, timeout: float) -> None:
        """Join after `delay` (candidates arrive one by one, as people do) and hear the greeting."""
        await asyncio.sleep(delay)
        try:
            await asyncio.wait_for(self.join(url), timeout)
            self.greeted = await self.quiet_until(
                lambda: self.ear.heard_any and self.ear.quiet_for() > 1.5, timeout
            )
        except Exception as exc:  # a candidate that cannot get in is counted, not fatal to the others
            log(f"{self.room.name or 'a candidate'} could not join: {exc!r}")
        if not self.greeted:
            log(f"no greeting in room {self.room.name} within {timeout:.0f} s")

    async def answer(self, answers: list[bytes], turns: int, reply_timeout: float) -> None:
        if not self.greeted:
            self.missed = turns
            return
        for turn in range(turns):
            await self.quiet_until(lambda: False, 0.3)
            await self.send(answers[turn % len(answers)])
            end_of_speech = time.monotonic()
            self.ear.mark()
            if await self.quiet_until(lambda: self.ear.first_loud_after_mark is not None, reply_timeout):
                assert self.ear.first_loud_after_mark is not None
                self.latencies_s.append(self.ear.first_loud_after_mark - end_of_speech)
                await self.quiet_until(lambda: self.ear.quiet_for() > 1.5, reply_timeout)
            else:
                self.missed += 1


def log(message: str) -> None:
    print(f"[{time.monotonic():.3f}] {message}", file=sys.stderr, flush=True)


def read_pcm(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        return wav.readframes(wav.getnframes())


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--tokens", required=True, help="JSON file: a list of participant tokens")
    parser.add_argument("--answers", required=True, help="directory of 16 kHz mono answer WAVs")
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--greeting-timeout", type=float, default=120)
    parser.add_argument("--stagger", type=float, default=1.0, help="seconds between two candidates joining")
    parser.add_argument("--first-arrival", type=int, default=0, help="arrival slot of this process's first")
    parser.add_argument("--reply-timeout", type=float, default=20)
    args = parser.parse_args()
    answers = [read_pcm(p) for p in sorted(Path(args.answers).glob("*.wav"))]
    candidates = [Candidate(token) for token in json.loads(Path(args.tokens).read_text())]

    await asyncio.gather(
        *(
            c.arrive(args.url, i * args.stagger, args.greeting_timeout)
            for i, c in enumerate(candidates, args.first_arrival)
        )
    )
    log(f"{sum(c.greeted for c in candidates)}/{len(candidates)} candidates heard their greeting")
    print("ready", flush=True)
    go = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if go.strip() != "go":
        raise SystemExit(f"expected go, got {go!r}")
    await asyncio.gather(*(c.answer(answers, args.turns, args.reply_timeout) for c in candidates))
    print(
        json.dumps(
            [
                {"room": c.room.name, "greeted": c.greeted, "latencies_s": c.latencies_s, "missed": c.missed}
                for c in candidates
            ]
        ),
        flush=True,
    )
    await asyncio.gather(*(c.room.disconnect() for c in candidates))


if __name__ == "__main__":
    asyncio.run(main())
    sys.stderr.flush()
    os._exit(0)  # the rtc SDK's handles otherwise assert while the interpreter tears down
