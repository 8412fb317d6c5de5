"""Load for bench/local_livekit_rooms.py, run inside the bench namespace: N rooms, each with a publisher and
a subscriber (real livekit rtc SDK, all in this one process so the clients cost as little CPU as possible).

Each publisher plays tone bursts; each subscriber notes when it hears one start. Prints one JSON line:
{"rooms": N, "latencies_ms": [...], "missed": M, "ready_at": <wall clock when all rooms carried audio>}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from livekit import rtc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "local_livekit" / "clients"))
from _common import SAMPLE_RATE, ToneSource, connect, token

BURST_S, GAP_S = 0.4, 0.8


async def one_room(
    index: int, bursts: int, latencies: list[float], ready: asyncio.Barrier, setup: asyncio.Semaphore
) -> int:
    room_name = f"bench-{index}"
    await setup.acquire()  # rooms are set up one at a time: the bench measures the steady state
    speaker = await connect("speaker", room_name)
    listener_room = rtc.Room()
    subscribed: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()

    @listener_room.on("track_subscribed")
    def _subscribed(track: rtc.Track, *_: object) -> None:
        if not subscribed.done():
            subscribed.set_result(track)

    await listener_room.connect(os.environ["LIVEKIT_URL"], token("listener", room_name))
    tone = ToneSource(440.0 + 10 * index)
    await tone.publish(speaker)
    track = await asyncio.wait_for(subscribed, 30)
    burst_started: list[float] = []
    onsets: list[float] = []

    async def hear() -> None:
        quiet_since: float | None = time.monotonic()
        async for event in rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1):
            samples = np.frombuffer(event.frame.data, dtype=np.int16).astype(np.float64)
            loud = samples.size > 0 and float(np.sqrt(np.mean(samples**2))) > 1500
            now = time.monotonic()
            if loud and quiet_since is not None and now - quiet_since > 0.3:
                onsets.append(now)
                quiet_since = None
            elif not loud and quiet_since is None:
                quiet_since = now

    hearing = asyncio.create_task(hear())
    await tone.play(1.0, tone=False)
    setup.release()
    await ready.wait()
    for _ in range(bursts):
        burst_started.append(time.monotonic())
        await tone.play(BURST_S, tone=True)
        await tone.play(GAP_S, tone=False)
    hearing.cancel()
    missed = 0
    for start in burst_started:
        heard = [t for t in onsets if start <= t < start + BURST_S + GAP_S]
        if heard:
            latencies.append((heard[0] - start) * 1000)
        else:
            missed += 1
    await speaker.disconnect()
    await listener_room.disconnect()
    return missed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rooms", type=int)
    parser.add_argument("--bursts", type=int, default=8)
    args = parser.parse_args()
    latencies: list[float] = []
    ready = asyncio.Barrier(args.rooms + 1)
    setup = asyncio.Semaphore(1)
    rooms = [
        asyncio.create_task(one_room(i, args.bursts, latencies, ready, setup)) for i in range(args.rooms)
    ]
    async with asyncio.timeout(60 + 10 * args.rooms):
        await ready.wait()
    print(json.dumps({"event": "steady", "t": time.time()}), flush=True)
    async with asyncio.timeout(30 + args.bursts * (BURST_S + GAP_S) * 2):
        missed = sum(await asyncio.gather(*rooms))
    print(json.dumps({"rooms": args.rooms, "latencies_ms": latencies, "missed": missed}), flush=True)
    os._exit(0)  # skip interpreter finalisation: the SDK's FFI threads may abort it


if __name__ == "__main__":
    asyncio.run(main())
