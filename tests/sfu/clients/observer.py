"""Join and record room events until a condition is met; print them as JSON.

--until EVENT[:field=value]   e.g. participant_disconnected:identity=bob, data_received:topic=all
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

from _common import finish, log, token
from livekit import rtc


def _who(participant: Any) -> dict[str, Any]:
    if participant is None:
        return {"identity": None}
    return {
        "identity": participant.identity,
        "sid": participant.sid,
        "kind": rtc.ParticipantKind.Name(participant.kind) if hasattr(participant, "kind") else None,
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--room", required=True)
    parser.add_argument("--identity", default="observer")
    parser.add_argument("--until", required=True)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--no-subscribe", action="store_true")
    args = parser.parse_args()

    event_name, _, condition = args.until.partition(":")
    field, _, value = condition.partition("=")
    events: list[dict[str, Any]] = []
    done = asyncio.Event()

    def record(event: str, /, **details: Any) -> None:
        entry = {"event": event, "t": time.time(), **details}
        events.append(entry)
        log("event", entry)
        if event == event_name and (not field or str(entry.get(field)) == value):
            done.set()

    options = rtc.RoomOptions(auto_subscribe=not args.no_subscribe)
    lk_room = rtc.Room()
    lk_room.on("participant_connected", lambda p: record("participant_connected", **_who(p)))
    lk_room.on("participant_disconnected", lambda p: record("participant_disconnected", **_who(p)))
    lk_room.on("track_published", lambda pub, p: record("track_published", track_sid=pub.sid, **_who(p)))
    lk_room.on("track_unpublished", lambda pub, p: record("track_unpublished", track_sid=pub.sid, **_who(p)))
    lk_room.on("track_subscribed", lambda t, pub, p: record("track_subscribed", track_sid=pub.sid, **_who(p)))
    lk_room.on("track_muted", lambda p, pub: record("track_muted", track_sid=pub.sid, **_who(p)))
    lk_room.on("track_unmuted", lambda p, pub: record("track_unmuted", track_sid=pub.sid, **_who(p)))
    lk_room.on(
        "participant_metadata_changed",
        lambda p, old, new: record("participant_metadata_changed", metadata=new, **_who(p)),
    )
    lk_room.on(
        "participant_name_changed",
        lambda p, old, new: record("participant_name_changed", name=new, **_who(p)),
    )
    lk_room.on(
        "participant_attributes_changed",
        lambda changed, p: record("participant_attributes_changed", changed=dict(changed), **_who(p)),
    )
    lk_room.on(
        "data_received",
        lambda packet: record(
            "data_received",
            topic=packet.topic,
            payload=packet.data.decode(errors="replace"),
            data_kind=int(packet.kind),
            **_who(packet.participant),
        ),
    )
    lk_room.on(
        "disconnected", lambda reason: record("disconnected", reason=rtc.DisconnectReason.Name(reason))
    )
    await lk_room.connect(os.environ["LIVEKIT_URL"], token(args.identity, args.room), options)
    record("connected", local_sid=lk_room.local_participant.sid)
    for participant in list(lk_room.remote_participants.values()):
        # already in the room at our join (from the JoinResponse): reported like a later arrival
        record("participant_connected", at_join=True, **_who(participant))
        for publication in list(participant.track_publications.values()):
            record("track_published", at_join=True, track_sid=publication.sid, **_who(participant))
    try:
        await asyncio.wait_for(done.wait(), args.timeout)
        reached = True
    except TimeoutError:
        reached = False
    await finish(lk_room, {"identity": args.identity, "reached": reached, "events": events})


if __name__ == "__main__":
    asyncio.run(main())
