"""Join, wait for an audio track from --from, tell the publisher "ready" (data topic), then measure the tone.

Prints {"peak_hz", "rms", "onset" (wall clock of the first loud frame), "publisher", "track_sid", ...}.
"""

from __future__ import annotations

import argparse
import asyncio

from _common import ToneListener, connect, finish, log
from livekit import rtc


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--room", required=True)
    parser.add_argument("--identity", default="bob")
    parser.add_argument("--from", dest="publisher", default="alice")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=40.0)
    args = parser.parse_args()

    subscribed: asyncio.Queue[tuple[rtc.Track, str]] = asyncio.Queue()
    lk_room = await connect(args.identity, args.room)

    @lk_room.on("track_subscribed")
    def _subscribed(
        track: rtc.Track, publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant
    ) -> None:
        if participant.identity == args.publisher and track.kind == rtc.TrackKind.KIND_AUDIO:
            subscribed.put_nowait((track, publication.sid))

    track, track_sid = await asyncio.wait_for(subscribed.get(), args.timeout)
    log("subscribed", track_sid)
    listener = ToneListener()
    listening = asyncio.create_task(listener.listen(track, args.seconds, args.timeout))
    await lk_room.local_participant.publish_data(
        b"ready", topic="ready", destination_identities=[args.publisher]
    )
    await listening
    await finish(
        lk_room,
        {
            "identity": args.identity,
            "publisher": args.publisher,
            "track_sid": track_sid,
            **listener.summary(),
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
