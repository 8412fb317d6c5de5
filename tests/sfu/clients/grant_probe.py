"""Join with a given token and try to publish a microphone track and a camera track.

Prints {"microphone": {"published": bool, ...}, "camera": {"published": bool, "error": str}, "identity": ...}:
what the real server let this token publish.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from _common import ToneSource, emit, log
from livekit import rtc


async def _try_camera(lk_room: rtc.Room) -> dict[str, Any]:
    source = rtc.VideoSource(320, 240)
    track = rtc.LocalVideoTrack.create_video_track("camera", source)
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA)
    try:
        publication = await asyncio.wait_for(lk_room.local_participant.publish_track(track, options), 15)
    except Exception as exc:  # the SDK raises its own error types for a refused publish
        return {"published": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"published": True, "sid": publication.sid}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--token-env", default="PROBE_TOKEN", help="environment variable holding the token")
    args = parser.parse_args()
    lk_room = rtc.Room()
    await lk_room.connect(os.environ["LIVEKIT_URL"], os.environ[args.token_env])
    log("connected as", lk_room.local_participant.identity)
    try:
        microphone = await asyncio.wait_for(ToneSource(440.0).publish(lk_room), 15)
        mic: dict[str, Any] = {"published": True, "sid": microphone.sid}
    except Exception as exc:
        mic = {"published": False, "error": f"{type(exc).__name__}: {exc}"}
    camera = await _try_camera(lk_room)
    # Printed before leaving: after a refused publish the SDK's disconnect can wait for the publish that
    # never completes.
    emit({"identity": lk_room.local_participant.identity, "microphone": mic, "camera": camera})
    try:
        await asyncio.wait_for(lk_room.disconnect(), 5)
    finally:
        sys.stdout.flush()
        os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())
