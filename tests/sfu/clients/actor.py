"""Join and perform steps in order, then print what happened as JSON.

Steps: publish | mute | unmute | unpublish | leave | sleep:SECONDS
       wait-for:IDENTITY[,IDENTITY]   until all of them are in the room
       wait-attr:IDENTITY:K=V         until that participant carries that attribute
       wait-gone:IDENTITY             until that participant, once seen, has left
       data:TOPIC:PAYLOAD[:DEST1,DEST2] | lossy:TOPIC:PAYLOAD[:DESTS]
       attributes:K=V | metadata:TEXT | name:TEXT
       stay:SECONDS (stay connected, recording whether the server disconnects us)

The real livekit-server sends the arrival and departure of a participant that publishes no track in batches
(every 3 s), and a queued arrival is dropped when the departure comes before the batch goes out. So a
participant that joins and leaves within one batch is never seen by the others: tests synchronise with the
wait-* steps (attribute changes are sent at once), never with fixed sleeps alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Any

from _common import ToneSource, agent_dispatch_config, connect, finish, log
from livekit import rtc


def _present(lk_room: rtc.Room) -> set[str]:
    return {p.identity for p in lk_room.remote_participants.values()}


def _attributes(lk_room: rtc.Room, identity: str) -> dict[str, str]:
    for participant in lk_room.remote_participants.values():
        if participant.identity == identity:
            return dict(participant.attributes)
    return {}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--room", required=True)
    parser.add_argument("--identity", required=True)
    parser.add_argument("--kind", default="")
    parser.add_argument("--name", default="")
    parser.add_argument("--no-publish-data", action="store_true", help="token without canPublishData")
    parser.add_argument(
        "--dispatch", default="", metavar="AGENT[:METADATA]", help="a RoomConfiguration in the token"
    )
    parser.add_argument("steps", nargs="*")
    args = parser.parse_args()

    disconnected: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    agent_name, _, metadata = args.dispatch.partition(":")
    lk_room = await connect(
        args.identity,
        args.room,
        kind=args.kind,
        name=args.name,
        can_publish_data=not args.no_publish_data,
        room_config=agent_dispatch_config(agent_name, metadata) if agent_name else None,
    )

    @lk_room.on("disconnected")
    def _gone(reason: rtc.DisconnectReason.ValueType) -> None:
        if not disconnected.done():
            disconnected.set_result(rtc.DisconnectReason.Name(reason))

    result: dict[str, Any] = {"identity": args.identity, "sid": lk_room.local_participant.sid}
    tone = ToneSource(330.0)
    playing: asyncio.Task[None] | None = None
    publication: rtc.LocalTrackPublication | None = None
    for step in args.steps:
        verb, _, rest = step.partition(":")
        log("step", step)
        if verb == "publish":
            publication = await tone.publish(lk_room)
            playing = asyncio.create_task(tone.play(3600, tone=True))
            result["track_sid"] = publication.sid
        elif verb in ("mute", "unmute"):
            assert publication is not None
            track = publication.track
            assert isinstance(track, rtc.LocalAudioTrack)
            track.mute() if verb == "mute" else track.unmute()
        elif verb == "unpublish":
            assert publication is not None
            await lk_room.local_participant.unpublish_track(publication.sid)
        elif verb == "sleep":
            await asyncio.sleep(float(rest))
        elif verb == "wait-for":
            wanted = set(rest.split(","))
            while not wanted <= _present(lk_room):
                await asyncio.sleep(0.05)
        elif verb == "wait-attr":
            identity, _, pair = rest.partition(":")
            key, _, value = pair.partition("=")
            while _attributes(lk_room, identity).get(key) != value:
                await asyncio.sleep(0.05)
        elif verb == "wait-gone":
            while rest not in _present(lk_room):
                await asyncio.sleep(0.05)
            while rest in _present(lk_room):
                await asyncio.sleep(0.05)
        elif verb in ("data", "lossy"):
            topic, _, tail = rest.partition(":")
            payload, _, dests = tail.partition(":")
            try:
                await lk_room.local_participant.publish_data(
                    payload.encode(),
                    reliable=verb == "data",
                    topic=topic,
                    destination_identities=[d for d in dests.split(",") if d],
                )
            except Exception as exc:  # reported, so a test can tell "refused locally" from "dropped"
                result.setdefault("data_errors", []).append(f"{type(exc).__name__}: {exc}")
        elif verb == "attributes":
            key, _, value = rest.partition("=")
            await lk_room.local_participant.set_attributes({key: value})
        elif verb == "metadata":
            await lk_room.local_participant.set_metadata(rest)
        elif verb == "name":
            await lk_room.local_participant.set_name(rest)
        elif verb == "stay":
            with contextlib.suppress(TimeoutError):
                result["disconnect_reason"] = await asyncio.wait_for(
                    asyncio.shield(disconnected), float(rest)
                )
        elif verb == "leave":
            break
        else:
            raise SystemExit(f"unknown step {step!r}")
    if playing is not None:
        playing.cancel()
    result.setdefault("disconnect_reason", disconnected.result() if disconnected.done() else None)
    await finish(lk_room, result)


if __name__ == "__main__":
    asyncio.run(main())
