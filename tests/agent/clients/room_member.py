"""A room member (real livekit rtc SDK) that joins with a token, stays until the server disconnects it (or
--timeout passes; with --publish it publishes a microphone track, as a candidate does), and prints one
JSON line: its identity and sid, the disconnect reason the server gave
(a livekit.protocol DisconnectReason name, or null on timeout), and the participant events it saw, each
with the sids of the remote participants present when the SDK emitted it."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

from livekit import rtc


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument(
        "--publish", action="store_true", help="publish a microphone track (as a candidate does)"
    )
    args = parser.parse_args()

    room = rtc.Room()
    disconnected: asyncio.Future[rtc.DisconnectReason.ValueType] = asyncio.get_running_loop().create_future()

    @room.on("disconnected")
    def _disconnected(reason: rtc.DisconnectReason.ValueType) -> None:
        if not disconnected.done():
            disconnected.set_result(reason)

    events: list[dict[str, object]] = []

    def note(kind: str, participant: rtc.RemoteParticipant) -> None:
        present = sorted(p.sid for p in room.remote_participants.values())
        events.append(
            {
                "event": kind,
                "identity": participant.identity,
                "sid": participant.sid,
                "present": present,
                "t": time.monotonic(),
            }
        )

    room.on("participant_connected", lambda p: note("connected", p))
    room.on("participant_disconnected", lambda p: note("disconnected", p))

    await room.connect(args.url, args.token)
    print(f"joined {room.name} as {room.local_participant.identity}", file=sys.stderr, flush=True)
    identity, sid = room.local_participant.identity, room.local_participant.sid
    if args.publish:
        source = rtc.AudioSource(16000, 1)
        track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        await room.local_participant.publish_track(track, options)
    reason: str | None = None
    try:
        reason = rtc.DisconnectReason.Name(await asyncio.wait_for(disconnected, args.timeout))
    except TimeoutError:
        await room.disconnect()
    print(
        json.dumps(
            {
                "room": room.name,
                "identity": identity,
                "sid": sid,
                "disconnect_reason": reason,
                "events": events,
            }
        ),
        flush=True,
    )
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())
