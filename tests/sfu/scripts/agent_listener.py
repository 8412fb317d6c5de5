"""Join a room with a token whose RoomConfiguration dispatches --agent-name (as the control plane's candidate
tokens do), wait for that agent's audio track and measure it. Runs inside the test namespace.

Prints one JSON line: {"agent_identity", "agent_kind", "agent_attributes", "heard", "peak_hz", "rms", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from livekit import rtc

# The token and tone analysis of the media tests' clients.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "clients"))
from _common import ToneListener, agent_dispatch_config, finish, token


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--room", required=True)
    parser.add_argument("--identity", default="candidate")
    parser.add_argument("--agent-name", required=True)
    parser.add_argument("--metadata", default="")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=90.0)
    args = parser.parse_args()

    config = agent_dispatch_config(args.agent_name, args.metadata)
    subscribed: asyncio.Queue[tuple[rtc.Track, rtc.RemoteParticipant]] = asyncio.Queue()
    lk_room = rtc.Room()

    @lk_room.on("track_subscribed")
    def _subscribed(
        track: rtc.Track, publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant
    ) -> None:
        if (
            participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT
            and track.kind == rtc.TrackKind.KIND_AUDIO
        ):
            subscribed.put_nowait((track, participant))

    await lk_room.connect(os.environ["LIVEKIT_URL"], token(args.identity, args.room, room_config=config))
    track, agent = await asyncio.wait_for(subscribed.get(), args.timeout)
    listener = ToneListener()
    await listener.listen(track, args.seconds, args.timeout)
    await finish(
        lk_room,
        {
            "agent_identity": agent.identity,
            "agent_kind": int(agent.kind),
            "agent_attributes": dict(agent.attributes),
            **listener.summary(),
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
