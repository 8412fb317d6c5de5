"""The real livekit-server's Twirp API (RoomService, AgentDispatchService), driven by livekit-api from the
test process through the namespace's host forward (`lk.host_http_url`). Participants are real rtc SDK
clients running inside the namespace.

Where the real server differs from what one might assume, the tests pin what it does: ListParticipants of a
missing room is an empty list, SendData and ListDispatch for a room that no node hosts fail with 503
`unavailable`, GetDispatch of a deleted dispatch answers an empty message, every new room carries a default
dispatch with an empty agent name, and a token the server cannot verify is refused with a plain-text 401
(not a Twirp JSON error), so livekit-api reports its code as `unknown`.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from livekit import api
from livekit.protocol import agent_dispatch, models, room

from tests.sfu.conftest import CLIENTS
from tests.support.netns import NetnsLiveKit

pytestmark = [pytest.mark.netns, pytest.mark.slow]


@pytest.fixture
async def lkapi(netns_livekit: NetnsLiveKit) -> AsyncIterator[api.LiveKitAPI]:
    # failover=False: a 5xx is an answer to check here, not a reason to retry with backoff
    client = api.LiveKitAPI(
        netns_livekit.host_http_url, netns_livekit.api_key, netns_livekit.api_secret, failover=False
    )
    yield client
    await client.aclose()


def _room_name() -> str:
    return f"twirp-{uuid.uuid4().hex[:8]}"


async def _wait(lk: NetnsLiveKit, proc: subprocess.Popen[str], timeout: float = 60) -> dict[str, Any]:
    result: dict[str, Any] = (await asyncio.to_thread(lk.wait, proc, timeout)).check().json
    return result


async def _identities(lkapi: api.LiveKitAPI, name: str) -> list[str]:
    listed = await lkapi.room.list_participants(room.ListParticipantsRequest(room=name))
    return sorted(p.identity for p in listed.participants)


async def _until_active(lkapi: api.LiveKitAPI, name: str, identities: set[str], timeout: float = 30) -> None:
    """Until all of them are listed with state ACTIVE (JOINED is listed too, before their media connects)."""
    async with asyncio.timeout(timeout):
        while True:
            listed = await lkapi.room.list_participants(room.ListParticipantsRequest(room=name))
            active = {
                p.identity for p in listed.participants if p.state == models.ParticipantInfo.State.ACTIVE
            }
            if identities <= active:
                return
            await asyncio.sleep(0.1)


async def test_rooms_are_created_listed_updated_and_deleted(lkapi: api.LiveKitAPI) -> None:
    name = _room_name()
    created = await lkapi.room.create_room(room.CreateRoomRequest(name=name, metadata="v1", empty_timeout=60))
    assert created.name == name
    assert created.sid.startswith("RM_")
    assert (created.metadata, created.empty_timeout) == ("v1", 60)

    listed = await lkapi.room.list_rooms(room.ListRoomsRequest(names=[name]))
    assert [r.sid for r in listed.rooms] == [created.sid]
    everything = await lkapi.room.list_rooms(room.ListRoomsRequest())
    assert name in {r.name for r in everything.rooms}

    updated = await lkapi.room.update_room_metadata(room.UpdateRoomMetadataRequest(room=name, metadata="v2"))
    assert (updated.sid, updated.metadata) == (created.sid, "v2")
    assert (await lkapi.room.list_rooms(room.ListRoomsRequest(names=[name]))).rooms[0].metadata == "v2"

    # creating an existing room returns that room, not an error
    again = await lkapi.room.create_room(room.CreateRoomRequest(name=name))
    assert again.sid == created.sid

    await lkapi.room.delete_room(room.DeleteRoomRequest(room=name))
    assert (await lkapi.room.list_rooms(room.ListRoomsRequest(names=[name]))).rooms == []


async def test_participants_are_listed_fetched_messaged_and_removed(
    netns_livekit: NetnsLiveKit, lkapi: api.LiveKitAPI
) -> None:
    lk = netns_livekit
    name = _room_name()
    alice = lk.popen_python(CLIENTS / "actor.py", "--room", name, "--identity", "alice", "stay:60")
    bob = lk.popen_python(
        CLIENTS / "observer.py", "--room", name, "--identity", "bob", "--until", "data_received:topic=chat"
    )
    await _until_active(lkapi, name, {"alice", "bob"})
    assert await _identities(lkapi, name) == ["alice", "bob"]

    fetched = await lkapi.room.get_participant(room.RoomParticipantIdentity(room=name, identity="alice"))
    assert fetched.sid.startswith("PA_")
    assert fetched.state == models.ParticipantInfo.State.ACTIVE

    # ACTIVE can come a moment before bob's data channel is open: send until he has it
    async with asyncio.timeout(30):
        while bob.poll() is None:
            await lkapi.room.send_data(
                room.SendDataRequest(
                    room=name,
                    data=b"hello",
                    kind=models.DataPacket.Kind.RELIABLE,
                    topic="chat",
                    destination_identities=["bob"],
                )
            )
            await asyncio.sleep(0.5)
    seen = await _wait(lk, bob)
    data = [e for e in seen["events"] if e["event"] == "data_received"]
    # sent by the server, not by a participant
    assert data, seen
    assert {(e["topic"], e["payload"], e["identity"]) for e in data} == {("chat", "hello", None)}

    await lkapi.room.remove_participant(room.RoomParticipantIdentity(room=name, identity="alice"))
    removed = await _wait(lk, alice)
    assert (removed["sid"], removed["disconnect_reason"]) == (fetched.sid, "PARTICIPANT_REMOVED")
    assert await _identities(lkapi, name) == []

    with pytest.raises(api.ServerError) as missing:
        await lkapi.room.get_participant(room.RoomParticipantIdentity(room=name, identity="alice"))
    assert (missing.value.code, missing.value.status) == ("not_found", 404)
    assert "participant does not exist" in missing.value.message


async def test_missing_rooms_and_participants(lkapi: api.LiveKitAPI) -> None:
    name = _room_name()
    # listing the participants of a missing room is not an error
    assert (await lkapi.room.list_participants(room.ListParticipantsRequest(room=name))).participants == []
    not_found = {
        "delete_room": lkapi.room.delete_room(room.DeleteRoomRequest(room=name)),
        "update_room_metadata": lkapi.room.update_room_metadata(
            room.UpdateRoomMetadataRequest(room=name, metadata="x")
        ),
        "get_participant": lkapi.room.get_participant(room.RoomParticipantIdentity(room=name, identity="x")),
        "remove_participant": lkapi.room.remove_participant(
            room.RoomParticipantIdentity(room=name, identity="nobody")
        ),
    }
    for call, coro in not_found.items():
        with pytest.raises(api.ServerError) as error:
            await coro
        assert (error.value.code, error.value.status) == ("not_found", 404), call
    # these are routed to the node hosting the room, and no node does
    unavailable = {
        "send_data": lkapi.room.send_data(room.SendDataRequest(room=name, data=b"x")),
        "list_dispatch": lkapi.agent_dispatch.list_dispatch(name),
    }
    for call, routed in unavailable.items():
        with pytest.raises(api.ServerError) as error:
            await routed
        assert (error.value.code, error.value.status) == ("unavailable", 503), call

    # an existing room without that participant
    await lkapi.room.create_room(room.CreateRoomRequest(name=name))
    for coro in (
        lkapi.room.get_participant(room.RoomParticipantIdentity(room=name, identity="nobody")),
        lkapi.room.remove_participant(room.RoomParticipantIdentity(room=name, identity="nobody")),
    ):
        with pytest.raises(api.ServerError) as error:
            await coro
        assert (error.value.code, error.value.status) == ("not_found", 404)
    await lkapi.room.delete_room(room.DeleteRoomRequest(room=name))


async def test_agent_dispatches_are_created_listed_and_deleted(lkapi: api.LiveKitAPI) -> None:
    name = _room_name()
    created = await lkapi.agent_dispatch.create_dispatch(
        agent_dispatch.CreateAgentDispatchRequest(agent_name="interviewer", room=name, metadata='{"id": 7}')
    )
    assert created.id.startswith("AD_")
    assert (created.agent_name, created.room, created.metadata) == ("interviewer", name, '{"id": 7}')
    # CreateDispatch creates the room
    assert [r.name for r in (await lkapi.room.list_rooms(room.ListRoomsRequest(names=[name]))).rooms] == [
        name
    ]

    listed = await lkapi.agent_dispatch.list_dispatch(name)
    # the new room also got its default dispatch (empty agent name: for workers registered without a name)
    assert sorted((d.agent_name, d.id == created.id) for d in listed) == [("", False), ("interviewer", True)]
    fetched = await lkapi.agent_dispatch.get_dispatch(created.id, name)
    assert fetched is not None
    assert fetched.metadata == '{"id": 7}'

    deleted = await lkapi.agent_dispatch.delete_dispatch(created.id, name)
    assert deleted.id == created.id
    assert [d.agent_name for d in await lkapi.agent_dispatch.list_dispatch(name)] == [""]
    assert await lkapi.agent_dispatch.get_dispatch(created.id, name) is None
    with pytest.raises(api.ServerError) as error:
        await lkapi.agent_dispatch.delete_dispatch(created.id, name)
    assert (error.value.code, error.value.status) == ("not_found", 404)
    assert "dispatch ID not found" in error.value.message
    await lkapi.room.delete_room(room.DeleteRoomRequest(room=name))


def _token(
    lk: NetnsLiveKit, grants: api.VideoGrants, *, secret: str = "", key: str = "", ttl_s: int = 600
) -> str:
    return (
        api.AccessToken(key or lk.api_key, secret or lk.api_secret)
        .with_grants(grants)
        .with_ttl(datetime.timedelta(seconds=ttl_s))
        .to_jwt()
    )


_BAD_TOKENS: dict[str, tuple[dict[str, Any], str]] = {
    # case: (_token arguments or {"raw": token}, start of the plain-text 401 body)
    "forged": (
        {"secret": "not-the-secret-0123456789abcdef0123456789"},
        "invalid token: ",
    ),
    "unknown-key": ({"key": "unknown-key"}, "invalid API key: unknown-key"),
    "expired": ({"ttl_s": -120}, "invalid token: "),
    "garbage": ({"raw": "not-a-jwt"}, "invalid authorization token"),
}
_BAD_TOKEN_REASONS = {
    "forged": "token signature is invalid",
    "expired": "token is expired",
}


@pytest.mark.parametrize("case", sorted(_BAD_TOKENS))
async def test_unverifiable_tokens_get_a_plain_401(netns_livekit: NetnsLiveKit, case: str) -> None:
    lk = netns_livekit
    arguments, body_start = _BAD_TOKENS[case]
    token = (
        arguments["raw"] if "raw" in arguments else _token(lk, api.VideoGrants(room_list=True), **arguments)
    )
    async with api.LiveKitAPI(lk.host_http_url, token=token, failover=False) as client:
        with pytest.raises(api.ServerError) as error:
            await client.room.list_rooms(room.ListRoomsRequest())
    # the auth middleware answers before Twirp does: no JSON error body, so livekit-api knows no code
    assert (error.value.code, error.value.status) == ("unknown", 401)
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{lk.host_http_url}/twirp/livekit.RoomService/ListRooms",
            json={},
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        body = await response.text()
        assert (response.status, response.content_type) == (401, "text/plain")
    assert body.startswith(body_start), body
    assert _BAD_TOKEN_REASONS.get(case, "") in body


async def test_a_token_without_the_grant_gets_twirp_unauthenticated(netns_livekit: NetnsLiveKit) -> None:
    lk = netns_livekit
    token = _token(lk, api.VideoGrants(room_record=True))
    async with api.LiveKitAPI(lk.host_http_url, token=token, failover=False) as client:
        with pytest.raises(api.ServerError) as error:
            await client.room.list_rooms(room.ListRoomsRequest())
    assert (error.value.code, error.value.status, error.value.message) == (
        "unauthenticated",
        401,
        "permissions denied",
    )


async def test_room_admin_grant_is_scoped_to_its_room(
    netns_livekit: NetnsLiveKit, lkapi: api.LiveKitAPI
) -> None:
    lk = netns_livekit
    name = _room_name()
    await lkapi.room.create_room(room.CreateRoomRequest(name=name))
    async with api.LiveKitAPI(
        lk.host_http_url, token=_token(lk, api.VideoGrants(room_admin=True, room=name)), failover=False
    ) as own_admin:
        assert (
            await own_admin.room.list_participants(room.ListParticipantsRequest(room=name))
        ).participants == []
    other_room_admin = _token(lk, api.VideoGrants(room_admin=True, room="some-other-room"))
    async with api.LiveKitAPI(lk.host_http_url, token=other_room_admin, failover=False) as client:
        for call in (
            client.room.list_participants(room.ListParticipantsRequest(room=name)),
            client.room.update_room_metadata(room.UpdateRoomMetadataRequest(room=name, metadata="x")),
            client.agent_dispatch.list_dispatch(name),
            client.room.delete_room(room.DeleteRoomRequest(room=name)),  # needs roomCreate
        ):
            with pytest.raises(api.ServerError) as error:
                await call
            assert (error.value.code, error.value.message) == ("unauthenticated", "permissions denied")
    await lkapi.room.delete_room(room.DeleteRoomRequest(room=name))


async def test_json_bodies_and_twirp_errors_over_plain_http(
    netns_livekit: NetnsLiveKit, lkapi: api.LiveKitAPI
) -> None:
    lk = netns_livekit
    name = _room_name()
    await lkapi.room.create_room(room.CreateRoomRequest(name=name, metadata="json"))
    headers = {"Authorization": f"Bearer {_token(lk, api.VideoGrants(room_list=True))}"}
    base = f"{lk.host_http_url}/twirp/livekit.RoomService"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/ListRooms", json={"names": [name]}, headers=headers) as response:
            assert response.status == 200
            assert response.content_type == "application/json"
            body = await response.json()
        assert [(r["name"], r["metadata"]) for r in body["rooms"]] == [(name, "json")]

        async with http.post(f"{base}/NoSuchMethod", json={}, headers=headers) as response:
            assert (response.status, (await response.json())["code"]) == (404, "bad_route")
        async with http.get(f"{base}/ListRooms", headers=headers) as response:
            assert (response.status, (await response.json())["code"]) == (404, "bad_route")
        async with http.post(
            f"{base}/ListRooms",
            data=b"{not json",
            headers={**headers, "Content-Type": "application/json"},
        ) as response:
            error = json.loads(await response.text())
            assert (response.status, error["code"]) == (400, "malformed")
            assert error["msg"]
    await lkapi.room.delete_room(room.DeleteRoomRequest(room=name))
