"""Join, publish a microphone track, wait for the listener's "ready" data message, then play a tone.

Prints {"tone_start": <wall clock when the first tone frame was handed to the SDK>, ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from _common import ToneSource, connect, finish, log


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--room", required=True)
    parser.add_argument("--identity", default="alice")
    parser.add_argument("--frequency", type=float, default=440.0)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--ready-timeout", type=float, default=30.0)
    args = parser.parse_args()

    ready = asyncio.Event()
    lk_room = await connect(args.identity, args.room)

    @lk_room.on("data_received")
    def _data(packet: object) -> None:
        if getattr(packet, "topic", None) == "ready":
            ready.set()

    tone = ToneSource(args.frequency)
    publication = await tone.publish(lk_room)
    log("published", publication.sid)
    silence = asyncio.create_task(_silence_until(tone, ready))
    try:
        await asyncio.wait_for(ready.wait(), args.ready_timeout)
    finally:
        ready.set()
        await silence
    start = time.time()
    await tone.play(args.seconds, tone=True)
    await tone.play(0.5, tone=False)
    await finish(lk_room, {"identity": args.identity, "track_sid": publication.sid, "tone_start": start})


async def _silence_until(tone: ToneSource, ready: asyncio.Event) -> None:
    while not ready.is_set():
        await tone.play(0.05, tone=False)


if __name__ == "__main__":
    asyncio.run(main())
