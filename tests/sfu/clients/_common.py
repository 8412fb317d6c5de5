"""Shared bits of the test clients: they run inside the test namespace with the real livekit rtc SDK and
print one JSON line with what they saw."""

from __future__ import annotations

import datetime
import json
import math
import os
import sys
import time
from typing import Any

import numpy as np
from livekit import api, rtc
from livekit.protocol import agent_dispatch
from livekit.protocol import room as room_service

SAMPLE_RATE = 48000
FRAME_SAMPLES = 480  # 10 ms


def token(
    identity: str,
    room: str,
    *,
    name: str = "",
    kind: str = "",
    room_config: room_service.RoomConfiguration | None = None,
    **grants: Any,
) -> str:
    """A join token; `room_config` travels in it as the RoomConfiguration the server applies on join."""
    builder = (
        api.AccessToken(os.environ["LIVEKIT_API_KEY"], os.environ["LIVEKIT_API_SECRET"])
        .with_identity(identity)
        .with_ttl(datetime.timedelta(minutes=10))
        .with_grants(api.VideoGrants(room_join=True, room=room, can_update_own_metadata=True, **grants))
    )
    if name:
        builder = builder.with_name(name)
    if kind:
        builder = builder.with_kind(kind)  # type: ignore[arg-type]
    if room_config is not None:
        builder = builder.with_room_config(room_config)
    return builder.to_jwt()


def agent_dispatch_config(agent_name: str, metadata: str = "") -> room_service.RoomConfiguration:
    """A RoomConfiguration that dispatches `agent_name` when the room is created by this join."""
    return room_service.RoomConfiguration(
        agents=[agent_dispatch.RoomAgentDispatch(agent_name=agent_name, metadata=metadata)]
    )


async def connect(identity: str, room: str, **kwargs: Any) -> rtc.Room:
    lk_room = rtc.Room()
    await lk_room.connect(os.environ["LIVEKIT_URL"], token(identity, room, **kwargs))
    return lk_room


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result), flush=True)


async def finish(lk_room: rtc.Room, result: dict[str, Any]) -> None:
    """Leave, print the result and exit at once.

    The exit skips interpreter finalisation on purpose: the SDK's FFI threads can still call back into
    Python while it finalises, which sometimes aborts the process after the work is done.
    """
    await lk_room.disconnect()
    emit(result)
    sys.stderr.flush()
    os._exit(0)


def log(*parts: object) -> None:
    print(f"[{time.monotonic():.3f}]", *parts, file=sys.stderr, flush=True)


class ToneSource:
    """Publishes silence, then a sine tone on demand, paced in real time by the AudioSource queue."""

    def __init__(self, frequency: float, amplitude: float = 0.5) -> None:
        self.source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=20)
        self.frequency = frequency
        self.amplitude = amplitude
        self._phase = 0

    async def publish(self, lk_room: rtc.Room, name: str = "tone") -> rtc.LocalTrackPublication:
        track = rtc.LocalAudioTrack.create_audio_track(name, self.source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        return await lk_room.local_participant.publish_track(track, options)

    async def play(self, seconds: float, *, tone: bool) -> None:
        for _ in range(int(seconds * SAMPLE_RATE / FRAME_SAMPLES)):
            frame = rtc.AudioFrame.create(SAMPLE_RATE, 1, FRAME_SAMPLES)
            samples = np.frombuffer(frame.data, dtype=np.int16)
            if tone:
                t = (self._phase + np.arange(FRAME_SAMPLES)) / SAMPLE_RATE
                samples[:] = (self.amplitude * 32767 * np.sin(2 * math.pi * self.frequency * t)).astype(
                    np.int16
                )
            self._phase += FRAME_SAMPLES
            await self.source.capture_frame(frame)


class ToneListener:
    """Reads a remote audio track; finds when loud audio starts and the frequency and level of it."""

    def __init__(self, threshold_rms: float = 1500.0) -> None:
        self.threshold = threshold_rms
        self.onset: float | None = None
        self.loud: list[np.ndarray] = []
        self.frames = 0

    async def listen(self, track: rtc.Track, seconds_after_onset: float, timeout: float) -> None:
        stream = rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1)
        deadline = time.monotonic() + timeout
        collected = 0
        async for event in stream:
            self.frames += 1
            samples = np.frombuffer(event.frame.data, dtype=np.int16).astype(np.float64)
            rms = float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0
            if self.onset is None and rms > self.threshold:
                self.onset = time.time()
            if self.onset is not None:
                self.loud.append(samples)
                collected += samples.size
                if collected >= seconds_after_onset * SAMPLE_RATE:
                    break
            if time.monotonic() > deadline:
                break
        await stream.aclose()

    def summary(self) -> dict[str, Any]:
        if not self.loud:
            return {"heard": False, "frames": self.frames}
        audio = np.concatenate(self.loud)
        spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size)))
        freqs = np.fft.rfftfreq(audio.size, 1 / SAMPLE_RATE)
        return {
            "heard": True,
            "frames": self.frames,
            "onset": self.onset,
            "peak_hz": float(freqs[int(np.argmax(spectrum))]),
            "rms": float(np.sqrt(np.mean(audio**2))),
        }
