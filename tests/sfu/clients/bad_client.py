"""Misbehaving clients for the bad-input tests. Prints {"mode", "outcome", ...}.

Modes:
  sdk-bad-secret, sdk-expired   the real SDK with a bad token (expects the connection refused)
  garbage                       a raw WebSocket join, then garbage bytes (expects the server to close it)
  vanish                        a raw join that offers a publisher connection and an audio track, then
                                exits abruptly before ICE completes
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
from typing import Any

import aiohttp
from _common import emit, token
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack
from livekit import api, rtc
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


async def raw_join(
    session: aiohttp.ClientSession, identity: str, room: str
) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(
        f"{os.environ['LIVEKIT_URL']}/rtc?protocol=16",
        headers={"Authorization": f"Bearer {token(identity, room)}"},
    )
    first = signal.SignalResponse.FromString((await ws.receive()).data)
    assert first.WhichOneof("message") == "join"
    return ws


async def garbage(identity: str, room: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        ws = await raw_join(session, identity, room)
        await ws.send_bytes(bytes(range(256)) * 4)
        while (await ws.receive()).type == aiohttp.WSMsgType.BINARY:
            pass
        return {"outcome": "closed", "close_code": ws.close_code}


async def vanish(identity: str, room: str) -> dict[str, Any]:
    session = aiohttp.ClientSession()
    ws = await raw_join(session, identity, room)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.createDataChannel("_reliable")
    pc.addTrack(AudioStreamTrack())
    await pc.setLocalDescription(await pc.createOffer())
    cid = pc.getTransceivers()[0].sender.track.id  # type: ignore[union-attr]
    add = signal.AddTrackRequest(cid=cid, name="mic", type=0, source=2)
    await ws.send_bytes(signal.SignalRequest(add_track=add).SerializeToString())
    offer = signal.SessionDescription(type="offer", sdp=pc.localDescription.sdp)
    await ws.send_bytes(signal.SignalRequest(offer=offer).SerializeToString())
    # gone before the answer and before ICE completes: no leave, no close handshake
    emit({"mode": "vanish", "outcome": "vanished"})
    os._exit(0)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["sdk-bad-secret", "sdk-expired", "garbage", "vanish"])
    parser.add_argument("--room", required=True)
    parser.add_argument("--identity", default="mallory")
    args = parser.parse_args()
    if args.mode.startswith("sdk-"):
        result = await sdk_refused(args.mode, args.identity, args.room)
    elif args.mode == "garbage":
        result = await garbage(args.identity, args.room)
    else:
        result = await vanish(args.identity, args.room)
    emit({"mode": args.mode, **result})
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())
