"""Misbehaving clients for the bad-input tests against the real livekit-server.

Prints {"mode", "outcome", ...}.

Modes:
  sdk-bad-secret, sdk-expired   the real rtc SDK with a bad token; expects the connection refused and reports
                                the SDK's error (the server answers the WebSocket upgrade with 401 and the
                                reason as the body)
  garbage                       a raw WebSocket join on /rtc (binary protobuf signaling), then garbage bytes;
                                reports whether the server listed the participant before, closed the socket,
                                and after how long RoomService no longer lists it
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import time
from typing import Any

import aiohttp
from _common import emit, token
from livekit import api, rtc
from livekit.protocol import room as room_service
from livekit.protocol import rtc as signal


def _bad_token(mode: str, identity: str, room: str) -> str:
    secret = os.environ["LIVEKIT_API_SECRET"]
    ttl = datetime.timedelta(minutes=10)
    if mode == "sdk-bad-secret":
        secret = "not-the-secret-0123456789-0123456789-012"
    else:
        ttl = datetime.timedelta(minutes=-10)
    return (
        api.AccessToken(os.environ["LIVEKIT_API_KEY"], secret)
        .with_identity(identity)
        .with_ttl(ttl)
        .with_grants(api.VideoGrants(room_join=True, room=room))
        .to_jwt()
    )


async def sdk_refused(mode: str, identity: str, room: str) -> dict[str, Any]:
    lk_room = rtc.Room()
    try:
        await lk_room.connect(os.environ["LIVEKIT_URL"], _bad_token(mode, identity, room))
    except rtc.ConnectError as exc:
        return {"outcome": "refused", "error": str(exc)}
    await lk_room.disconnect()
    return {"outcome": "connected"}


async def _listed(lkapi: api.LiveKitAPI, room: str) -> list[str]:
    try:
        response = await lkapi.room.list_participants(room_service.ListParticipantsRequest(room=room))
    except api.ServerError:  # the room itself may be gone already
        return []
    return [p.identity for p in response.participants]


async def garbage(identity: str, room: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, api.LiveKitAPI() as lkapi:
        ws = await session.ws_connect(
            f"{os.environ['LIVEKIT_URL']}/rtc?protocol=16",
            headers={"Authorization": f"Bearer {token(identity, room)}"},
        )
        first = signal.SignalResponse.FromString((await ws.receive()).data)
        assert first.WhichOneof("message") == "join", first
        listed_before = identity in await _listed(lkapi, room)
        await ws.send_bytes(bytes(range(256)) * 4)
        closed_by_server = False
        async with asyncio.timeout(10):
            while True:
                message = await ws.receive()
                if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    closed_by_server = True
                    break
                if message.type != aiohttp.WSMsgType.BINARY:
                    break
        closed_at = time.monotonic()
        while identity in await _listed(lkapi, room) and time.monotonic() - closed_at < 15:
            await asyncio.sleep(0.1)
        return {
            "outcome": "closed" if closed_by_server else "open",
            "sid": first.join.participant.sid,
            "close_code": ws.close_code,
            "listed_before": listed_before,
            "listed_after": identity in await _listed(lkapi, room),
            "removed_after_s": time.monotonic() - closed_at,
        }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["sdk-bad-secret", "sdk-expired", "garbage"])
    parser.add_argument("--room", required=True)
    parser.add_argument("--identity", default="mallory")
    args = parser.parse_args()
    if args.mode.startswith("sdk-"):
        result = await sdk_refused(args.mode, args.identity, args.room)
    else:
        result = await garbage(args.identity, args.room)
    emit({"mode": args.mode, **result})
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())
