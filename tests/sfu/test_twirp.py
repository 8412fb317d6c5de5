"""The server API over Twirp, driven by livekit-api against the real local server."""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from livekit import api
from livekit.protocol import agent_dispatch, models, room

from local_livekit.contracts import ApiKeys, ServerConfig
from local_livekit.server import ServerHandle, start_server
from tests.sfu.protocol_clients import KEY, SECRET, SignalParticipant, join_token


@pytest.fixture
async def server() -> AsyncIterator[ServerHandle]:
    handle = await start_server(ServerConfig(port=0, keys=ApiKeys({KEY: SECRET})))
    yield handle
    await handle.close()


@pytest.fixture
async def lkapi(server: ServerHandle) -> AsyncIterator[api.LiveKitAPI]:
    client = api.LiveKitAPI(server.http_url, KEY, SECRET)
    yield client
    await client.aclose()


def _room_name() -> str:
    return f"twirp-{uuid.uuid4().hex[:8]}"


async def test_rooms_are_created_listed_updated_and_deleted(lkapi: api.LiveKitAPI) -> None:
    name = _room_name()
    created = await lkapi.room.create_room(room.CreateRoomRequest(name=name, metadata="v1", empty_timeout=60))
    assert created.name == name
    assert created.sid.startswith("RM_")
    assert created.metadata == "v1"

    listed = await lkapi.room.list_rooms(room.ListRoomsRequest(names=[name]))
    assert [r.sid for r in listed.rooms] == [created.sid]
    everything = await lkapi.room.list_rooms(room.ListRoomsRequest())
    assert name in {r.name for r in everything.rooms}

    updated = await lkapi.room.update_room_metadata(room.UpdateRoomMetadataRequest(room=name, metadata="v2"))
    assert updated.metadata == "v2"
    assert (await lkapi.room.list_rooms(room.ListRoomsRequest(names=[name]))).rooms[0].metadata == "v2"

    await lkapi.room.delete_room(room.DeleteRoomRequest(room=name))
    assert (await lkapi.room.list_rooms(room.ListRoomsRequest(names=[name]))).rooms == []


async def test_participants_are_listed_fetched_and_removed(
    server: ServerHandle, lkapi: api.LiveKitAPI
) -> None:
    name = _room_name()
    async with SignalParticipant(server.http_url, join_token(name, "alice")) as alice:
        assert alice.join is not None
        listed = await lkapi.room.list_participants(room.ListParticipantsRequest(room=name))
        assert [p.identity for p in listed.participants] == ["alice"]

        fetched = await lkapi.room.get_participant(room.RoomParticipantIdentity(room=name, identity="alice"))
        assert fetched.sid == alice.join.participant.sid

        await lkapi.room.send_data(
            room.SendDataRequest(room=name, data=b"hello", kind=models.DataPacket.Kind.RELIABLE, topic="chat")
        )

        await lkapi.room.remove_participant(room.RoomParticipantIdentity(room=name, identity="alice"))
        assert (
            await lkapi.room.list_participants(room.ListParticipantsRequest(room=name))
        ).participants == []

    with pytest.raises(api.ServerError) as missing:
        await lkapi.room.get_participant(room.RoomParticipantIdentity(room=name, identity="alice"))
    assert (missing.value.code, missing.value.status) == ("not_found", 404)


async def test_missing_rooms_and_participants_are_not_found(lkapi: api.LiveKitAPI) -> None:
    name = _room_name()
    assert (await lkapi.room.list_participants(room.ListParticipantsRequest(room=name))).participants == []
    calls = [
        lkapi.room.delete_room(room.DeleteRoomRequest(room=name)),
        lkapi.room.update_room_metadata(room.UpdateRoomMetadataRequest(room=name, metadata="x")),
        lkapi.room.remove_participant(room.RoomParticipantIdentity(room=name, identity="nobody")),
        lkapi.room.send_data(room.SendDataRequest(room=name, data=b"x")),
    ]
    for call in calls:
        with pytest.raises(api.ServerError) as error:
            await call
        assert (error.value.code, error.value.status) == ("not_found", 404)


async def test_agent_dispatches_are_created_listed_and_deleted(lkapi: api.LiveKitAPI) -> None:
    name = _room_name()
    created = await lkapi.agent_dispatch.create_dispatch(
        agent_dispatch.CreateAgentDispatchRequest(agent_name="interviewer", room=name, metadata='{"id": 7}')
    )
    assert created.id.startswith("AD_")
    assert (created.agent_name, created.room, created.metadata) == ("interviewer", name, '{"id": 7}')
    # CreateDispatch creates the room, as livekit-server does.
    assert [r.name for r in (await lkapi.room.list_rooms(room.ListRoomsRequest(names=[name]))).rooms] == [
        name
    ]

    listed = await lkapi.agent_dispatch.list_dispatch(name)
    assert [d.id for d in listed] == [created.id]
    assert await lkapi.agent_dispatch.get_dispatch(created.id, name) is not None

    deleted = await lkapi.agent_dispatch.delete_dispatch(created.id, name)
    assert deleted.id == created.id
    assert await lkapi.agent_dispatch.list_dispatch(name) == []
    with pytest.raises(api.ServerError) as error:
        await lkapi.agent_dispatch.delete_dispatch(created.id, name)
    assert error.value.code == "not_found"


def _token(grants: api.VideoGrants, *, secret: str = SECRET, key: str = KEY, ttl_s: int = 600) -> str:
    return (
        api.AccessToken(key, secret).with_grants(grants).with_ttl(datetime.timedelta(seconds=ttl_s)).to_jwt()
    )


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (
            _token(api.VideoGrants(room_list=True), secret="not-the-secret-0123456789abcdef0123456789"),
            "invalid authorization token",
        ),
        (_token(api.VideoGrants(room_list=True), key="unknown-key"), "invalid API key"),
        (_token(api.VideoGrants(room_list=True), ttl_s=-120), "invalid authorization token"),
        (_token(api.VideoGrants(room_record=True)), "permissions denied"),
        ("not-a-jwt", "invalid authorization token"),
    ],
    ids=["forged", "unknown-key", "expired", "no-grant", "garbage"],
)
async def test_bad_tokens_get_twirp_unauthenticated(server: ServerHandle, token: str, message: str) -> None:
    async with api.LiveKitAPI(server.http_url, token=token) as client:
        with pytest.raises(api.ServerError) as error:
            await client.room.list_rooms(room.ListRoomsRequest())
    assert (error.value.code, error.value.status) == ("unauthenticated", 401)
    assert message in error.value.message


async def test_room_admin_grant_is_scoped_to_its_room(server: ServerHandle, lkapi: api.LiveKitAPI) -> None:
    name = _room_name()
    await lkapi.room.create_room(room.CreateRoomRequest(name=name))
    other_room_admin = _token(api.VideoGrants(room_admin=True, room="some-other-room"))
    async with api.LiveKitAPI(server.http_url, token=other_room_admin) as client:
        for call in (
            client.room.list_participants(room.ListParticipantsRequest(room=name)),
            client.room.update_room_metadata(room.UpdateRoomMetadataRequest(room=name, metadata="x")),
            client.agent_dispatch.list_dispatch(name),
            client.room.delete_room(room.DeleteRoomRequest(room=name)),  # needs roomCreate
        ):
            with pytest.raises(api.ServerError) as error:
                await call
            assert (error.value.code, error.value.message) == ("unauthenticated", "permissions denied")


async def test_json_bodies_and_twirp_errors_over_plain_http(
    server: ServerHandle, lkapi: api.LiveKitAPI
) -> None:
    name = _room_name()
    await lkapi.room.create_room(room.CreateRoomRequest(name=name, metadata="json"))
    headers = {"Authorization": f"Bearer {_token(api.VideoGrants(room_list=True))}"}
    base = f"{server.http_url}/twirp/livekit.RoomService"
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
