"""The /rtc signaling protocol and room lifecycle, in-process over loopback (no media, so no namespace)."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from livekit import api
from livekit.protocol import agent_dispatch, models, room, rtc

from local_livekit.contracts import ApiKeys, ServerConfig
from local_livekit.server import ServerHandle, start_server

KEY, SECRET = "testkey", "testsecret-0123456789-0123456789-0123456789"


class Recorder:
    """A RoomListener that records every event as (name, room name, detail)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    async def room_started(self, room_info: models.Room) -> None:
        self.events.append(("room_started", room_info.name, ""))

    async def room_finished(self, room_info: models.Room) -> None:
        self.events.append(("room_finished", room_info.name, ""))

    async def participant_joined(self, room_info: models.Room, participant: models.ParticipantInfo) -> None:
        self.events.append(("participant_joined", room_info.name, participant.identity))

    async def participant_left(self, room_info: models.Room, participant: models.ParticipantInfo) -> None:
        self.events.append(("participant_left", room_info.name, participant.identity))

    async def track_published(self, room_info: Any, participant: Any, track: Any) -> None:
        self.events.append(("track_published", room_info.name, track.sid))

    async def track_unpublished(self, room_info: Any, participant: Any, track: Any) -> None:
        self.events.append(("track_unpublished", room_info.name, track.sid))

    async def room_configured(self, room_info: models.Room, config: room.RoomConfiguration) -> None:
        self.events.append(("room_configured", room_info.name, ",".join(a.agent_name for a in config.agents)))

    def of(self, room_name: str) -> list[tuple[str, str]]:
        return [(name, detail) for name, r, detail in self.events if r == room_name]


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[ServerHandle]:
    config = ServerConfig(port=0, keys=ApiKeys({KEY: SECRET}), empty_timeout_s=1, departure_timeout_s=1)
    handle = await start_server(config)
    yield handle
    await handle.close()


@pytest.fixture
def recorder(server: ServerHandle) -> Recorder:
    rec = Recorder()
    server.registry.add_listener(rec)
    return rec


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def token(identity: str, room_name: str, *, secret: str = SECRET, ttl_s: float = 300, **grants: Any) -> str:
    builder = api.AccessToken(KEY, secret).with_identity(identity).with_ttl(datetime.timedelta(seconds=ttl_s))
    config = grants.pop("room_config", None)
    kind = grants.pop("kind", None)
    if config is not None:
        builder = builder.with_room_config(config)
    if kind:
        builder = builder.with_kind(kind)
    if "claims" in grants:
        name, metadata, attributes = grants.pop("claims")
        builder = builder.with_name(name).with_metadata(metadata).with_attributes(attributes)
    grants = {"room_join": True, **grants}
    return builder.with_grants(api.VideoGrants(room=room_name, **grants)).to_jwt()


class Client:
    """A bare signaling client: protobuf over the WebSocket, no peer connections."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def send(self, **message: Any) -> None:
        await self.ws.send_bytes(rtc.SignalRequest(**message).SerializeToString())

    async def recv(self, kind: str | None = None, timeout: float = 5) -> rtc.SignalResponse:
        """The next message (of `kind`, skipping others)."""
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.ws.receive()
                assert msg.type == aiohttp.WSMsgType.BINARY, msg
                response = rtc.SignalResponse.FromString(msg.data)
                if kind is None or response.WhichOneof("message") == kind:
                    return response


async def join(
    http: aiohttp.ClientSession, server: ServerHandle, identity: str, room_name: str, **grants: Any
) -> tuple[Client, rtc.JoinResponse]:
    ws = await http.ws_connect(
        f"{server.url}/rtc?protocol=16&sdk=python",
        headers={"Authorization": f"Bearer {token(identity, room_name, **grants)}"},
    )
    client = Client(ws)
    first = await client.recv()
    assert first.WhichOneof("message") == "join", first
    return client, first.join


async def test_join_response_describes_room_self_and_others(http: Any, server: ServerHandle) -> None:
    alice, alice_join = await join(http, server, "alice", "join-room", kind="agent")
    assert alice_join.room.name == "join-room"
    assert alice_join.room.sid.startswith("RM_")
    assert alice_join.participant.identity == "alice"
    assert alice_join.participant.sid.startswith("PA_")
    assert alice_join.participant.kind == models.ParticipantInfo.Kind.AGENT
    assert alice_join.server_info.version
    assert alice_join.ping_interval > 0
    assert alice_join.ping_timeout > 0
    assert list(alice_join.other_participants) == []

    bob, bob_join = await join(http, server, "bob", "join-room")
    assert [p.identity for p in bob_join.other_participants] == ["alice"]
    assert bob_join.other_participants[0].kind == models.ParticipantInfo.Kind.AGENT
    update = (await alice.recv("update")).update
    assert [p.identity for p in update.participants] == ["bob"]

    await bob.send(leave=rtc.LeaveRequest(reason=models.DisconnectReason.CLIENT_INITIATED))
    left = (await alice.recv("update")).update.participants[0]
    assert (left.identity, left.state) == ("bob", models.ParticipantInfo.State.DISCONNECTED)
    await alice.ws.close()
    await bob.ws.close()


async def test_resume_is_answered_with_a_full_reconnect_request(http: Any, server: ServerHandle) -> None:
    ws = await http.ws_connect(
        f"{server.url}/rtc?reconnect=1&sid=PA_gone",
        headers={"Authorization": f"Bearer {token('ghost', 'resume-room')}"},
    )
    leave = (await Client(ws).recv("leave")).leave
    assert leave.action == rtc.LeaveRequest.Action.RECONNECT
    assert leave.can_reconnect
    assert (await ws.receive()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert server.registry.get_room("resume-room") is None


async def test_auto_subscribe_off_is_honoured_and_explicit_subscription_works(
    http: Any, server: ServerHandle
) -> None:
    # no media flows here (no peer connection is ever offered), only which tracks get offered
    listener, _ = await join(http, server, "quiet", "sub-room")
    room_state = server.registry.live_room("sub-room")
    assert room_state is not None
    member = room_state.members["quiet"]
    assert member.subscribes_automatically
    ws = await http.ws_connect(
        f"{server.url}/rtc?auto_subscribe=0",
        headers={"Authorization": f"Bearer {token('manual', 'sub-room')}"},
    )
    await Client(ws).recv("join")
    assert not room_state.members["manual"].subscribes_automatically
    no_subscribe, _ = await join(http, server, "deaf", "sub-room", can_subscribe=False)
    assert not room_state.members["deaf"].subscribes_automatically
    for client in (listener, no_subscribe):
        await client.ws.close()
    await ws.close()


async def test_token_claims_become_participant_info(http: Any, server: ServerHandle) -> None:
    claims = ("Ada L.", '{"candidate": 7}', {"role": "candidate", "lang": "en"})
    client, joined = await join(http, server, "ada", "claims-room", claims=claims)
    me = joined.participant
    assert (me.name, me.metadata, dict(me.attributes)) == ("Ada L.", '{"candidate": 7}', claims[2])
    assert me.kind == models.ParticipantInfo.Kind.STANDARD
    assert me.permission.can_publish
    await client.ws.close()


async def test_publishing_needs_can_publish(http: Any, server: ServerHandle) -> None:
    viewer, joined = await join(http, server, "viewer", "pub-room", can_publish=False)
    assert not joined.participant.permission.can_publish
    await viewer.send(add_track=rtc.AddTrackRequest(cid="mic-1", name="mic", type=models.TrackType.AUDIO))
    refused = await viewer.recv()
    assert refused.WhichOneof("message") == "request_response", refused
    assert refused.request_response.reason == rtc.RequestResponse.Reason.NOT_ALLOWED

    speaker, _ = await join(http, server, "speaker", "pub-room")
    await speaker.send(add_track=rtc.AddTrackRequest(cid="mic-2", name="mic", type=models.TrackType.AUDIO))
    published = (await speaker.recv("track_published")).track_published
    assert published.cid == "mic-2"
    assert published.track.sid.startswith("TR_")
    assert published.track.type == models.TrackType.AUDIO
    for client in (viewer, speaker):
        await client.ws.close()


async def test_publishing_is_limited_to_the_granted_sources(http: Any, server: ServerHandle) -> None:
    audio, video, source = models.TrackType.AUDIO, models.TrackType.VIDEO, models.TrackSource

    async def add_track(client: Client, cid: str, kind: Any, track_source: Any) -> rtc.SignalResponse:
        await client.send(add_track=rtc.AddTrackRequest(cid=cid, name=cid, type=kind, source=track_source))
        return await client.recv()  # alone in its room: the next message answers this request

    def assert_refused(answer: rtc.SignalResponse, cid: str, reason: Any) -> None:
        assert answer.WhichOneof("message") == "request_response", answer
        # livekit-server echoes the refused request, without request_id or message
        assert answer.request_response.reason == reason
        assert answer.request_response.add_track.cid == cid
        assert (answer.request_response.request_id, answer.request_response.message) == (0, "")

    mic_only, joined = await join(
        http, server, "mic-only", "mic-only-room", can_publish_sources=["microphone"]
    )
    assert joined.participant.permission.can_publish
    assert list(joined.participant.permission.can_publish_sources) == [source.MICROPHONE]
    not_allowed = rtc.RequestResponse.Reason.NOT_ALLOWED
    assert_refused(await add_track(mic_only, "cam", video, source.CAMERA), "cam", not_allowed)
    assert_refused(await add_track(mic_only, "screen", video, source.SCREEN_SHARE), "screen", not_allowed)
    assert_refused(await add_track(mic_only, "no-source", audio, source.UNKNOWN), "no-source", not_allowed)
    published = await add_track(mic_only, "mic", audio, source.MICROPHONE)
    assert published.WhichOneof("message") == "track_published", published
    assert published.track_published.cid == "mic"
    assert published.track_published.track.source == source.MICROPHONE
    # the type is checked after the source, as livekit-server does
    unsupported = rtc.RequestResponse.Reason.UNSUPPORTED_TYPE
    assert_refused(
        await add_track(mic_only, "data", models.TrackType.DATA, source.MICROPHONE), "data", unsupported
    )

    # canPublish: false wins over the source list
    muted, joined = await join(
        http, server, "no-publish", "no-publish-room", can_publish=False, can_publish_sources=["microphone"]
    )
    assert not joined.participant.permission.can_publish
    assert_refused(await add_track(muted, "mic", audio, source.MICROPHONE), "mic", not_allowed)
    assert_refused(await add_track(muted, "cam", video, source.CAMERA), "cam", not_allowed)
    for client in (mic_only, muted):
        await client.ws.close()


async def test_ping_and_ping_req_are_answered(http: Any, server: ServerHandle) -> None:
    client, _ = await join(http, server, "pinger", "ping-room")
    await client.send(ping=1234)
    assert (await client.recv("pong")).pong == 1234
    await client.send(ping_req=rtc.Ping(timestamp=5678, rtt=3))
    pong = (await client.recv("pong_resp")).pong_resp
    assert pong.last_ping_timestamp == 5678
    assert pong.timestamp > 0
    await client.ws.close()


async def test_duplicate_identity_evicts_the_older_connection(http: Any, server: ServerHandle) -> None:
    first, _ = await join(http, server, "twin", "dup-room")
    second, _ = await join(http, server, "twin", "dup-room")
    leave = (await first.recv("leave")).leave
    assert leave.reason == models.DisconnectReason.DUPLICATE_IDENTITY
    assert (await first.ws.receive()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert [p.identity for p in server.registry.list_participants("dup-room")] == ["twin"]
    await second.ws.close()


async def test_metadata_updates_need_the_grant(http: Any, server: ServerHandle) -> None:
    watcher, _ = await join(http, server, "watcher", "meta-room")
    plain, _ = await join(http, server, "plain", "meta-room")
    await watcher.recv("update")
    await plain.send(update_metadata=rtc.UpdateParticipantMetadata(metadata="m", request_id=7))
    refused = (await plain.recv("request_response")).request_response
    assert (refused.request_id, refused.reason) == (7, rtc.RequestResponse.Reason.NOT_ALLOWED)

    allowed, _ = await join(http, server, "allowed", "meta-room", can_update_own_metadata=True)
    await watcher.recv("update")
    await allowed.send(
        update_metadata=rtc.UpdateParticipantMetadata(
            metadata="level=3", name="Al", attributes={"stage": "intro"}, request_id=9
        )
    )
    ok = (await allowed.recv("request_response")).request_response
    assert (ok.request_id, ok.reason) == (9, rtc.RequestResponse.Reason.OK)
    seen = (await watcher.recv("update")).update.participants[0]
    assert (seen.identity, seen.metadata, seen.name, dict(seen.attributes)) == (
        "allowed",
        "level=3",
        "Al",
        {"stage": "intro"},
    )
    for client in (watcher, plain, allowed):
        await client.ws.close()


async def test_room_lifecycle_events_and_departure_timeout(
    http: Any, server: ServerHandle, recorder: Recorder
) -> None:
    config = room.RoomConfiguration(agents=[agent_dispatch.RoomAgentDispatch(agent_name="interviewer")])
    client, _ = await join(http, server, "solo", "life-room", room_config=config)
    assert server.registry.get_room("life-room") is not None
    await client.ws.close()
    async with asyncio.timeout(10):
        while ("room_finished", "") not in recorder.of("life-room"):
            await asyncio.sleep(0.05)
    assert recorder.of("life-room") == [
        ("room_started", ""),
        ("room_configured", "interviewer"),
        ("participant_joined", "solo"),
        ("participant_left", "solo"),
        ("room_finished", ""),
    ]
    assert server.registry.get_room("life-room") is None


async def test_empty_room_closes_after_empty_timeout(server: ServerHandle, recorder: Recorder) -> None:
    created = await server.registry.create_room("never-joined")
    assert created.empty_timeout == 1
    async with asyncio.timeout(10):
        while ("room_finished", "") not in recorder.of("never-joined"):
            await asyncio.sleep(0.05)
    assert server.registry.list_rooms(["never-joined"]) == []


async def test_delete_room_disconnects_everyone(http: Any, server: ServerHandle, recorder: Recorder) -> None:
    a, _ = await join(http, server, "a", "doomed")
    b, _ = await join(http, server, "b", "doomed")
    await server.registry.delete_room("doomed")
    for client in (a, b):
        leave = (await client.recv("leave")).leave
        assert leave.reason == models.DisconnectReason.ROOM_DELETED
        assert leave.action == rtc.LeaveRequest.Action.DISCONNECT
    assert recorder.of("doomed")[-1] == ("room_finished", "")
    assert server.registry.get_room("doomed") is None


@pytest.mark.parametrize(
    ("make_token", "status", "message"),
    [
        (
            lambda: token("x", "r", secret="wrong-secret-0123456789-0123456789-0123"),
            401,
            "invalid authorization token: Signature verification failed",
        ),
        (lambda: token("x", "r", ttl_s=-600), 401, "invalid authorization token: Signature has expired"),
        (lambda: token("x", "r", room_join=False), 401, "permissions denied"),
        (lambda: "garbage", 401, "invalid authorization token"),
    ],
)
async def test_bad_tokens_are_refused_before_the_upgrade(
    http: Any, server: ServerHandle, make_token: Any, status: int, message: str
) -> None:
    headers = {"Authorization": f"Bearer {make_token()}"}
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(f"{server.url}/rtc", headers=headers)
    assert refused.value.status == status
    async with http.get(f"{server.http_url}/rtc/validate", headers=headers) as response:
        assert response.status == status
        assert await response.text() == message
        assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_token_for_another_room_is_refused(http: Any, server: ServerHandle) -> None:
    url = f"{server.http_url}/rtc/validate?room=other&access_token={token('x', 'mine')}"
    async with http.get(url) as response:
        assert response.status == 401
        assert "token is for room 'mine'" in await response.text()


async def test_validate_and_v1_fallback(http: Any, server: ServerHandle) -> None:
    async with http.get(f"{server.http_url}/rtc/validate?access_token={token('x', 'r')}") as response:
        assert (response.status, await response.text()) == (200, "success")
    async with http.get(f"{server.http_url}/rtc/v1/validate?access_token={token('x', 'r')}") as response:
        assert response.status == 404
        assert "requested room does not exist" not in await response.text()
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(f"{server.url}/rtc/v1", headers={"Authorization": f"Bearer {token('x', 'r')}"})
    assert refused.value.status == 404


async def test_garbage_on_the_socket_closes_only_that_connection(http: Any, server: ServerHandle) -> None:
    victim, _ = await join(http, server, "victim", "garbage-room")
    bystander, _ = await join(http, server, "bystander", "garbage-room")
    await victim.ws.send_bytes(b"\xff\x00\x13garbage\x99" * 10)
    closing = await victim.ws.receive()
    while closing.type == aiohttp.WSMsgType.BINARY:  # updates queued before the garbage arrived
        closing = await victim.ws.receive()
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert victim.ws.close_code == 1003
    await victim.ws.close()
    left = (await bystander.recv("update")).update.participants[0]
    assert (left.identity, left.state) == ("victim", models.ParticipantInfo.State.DISCONNECTED)
    await bystander.send(ping=1)
    assert (await bystander.recv("pong")).pong == 1
    again, joined = await join(http, server, "victim", "garbage-room")
    assert [p.identity for p in joined.other_participants] == ["bystander"]
    await again.ws.close()
    await bystander.ws.close()
