"""Webhooks from the real local server to a small aiohttp receiver on loopback, checked with livekit-api's
WebhookReceiver exactly as a production backend checks livekit-server's webhooks."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from livekit import api
from livekit.protocol import room, webhook

from local_livekit.contracts import ApiKeys, ServerConfig
from local_livekit.server import ServerHandle, start_server
from local_livekit.webhooks import WebhookConfigError, WebhookNotifier
from tests.local_livekit.protocol_clients import KEY, SECRET, SignalParticipant, join_token

WEBHOOK_KEY = "webhook-key"
WEBHOOK_SECRET = "webhook-secret-0123456789abcdef0123456789"


@dataclass
class Receiver:
    """Accepts webhooks the way an application backend does; can be told to fail the first requests."""

    fail_first: int = 0
    attempts: int = 0
    events: list[webhook.WebhookEvent] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.attempts <= self.fail_first:
            return web.Response(status=503, text="try again")
        body = await request.text()
        verifier = api.WebhookReceiver(api.TokenVerifier(WEBHOOK_KEY, WEBHOOK_SECRET))
        event = verifier.receive(body, request.headers["Authorization"])
        async with self.arrived:
            self.events.append(event)
            self.content_types.append(request.content_type)
            self.arrived.notify_all()
        return web.Response(text="ok")

    async def wait_for(self, kind: str, room_name: str, timeout: float = 15) -> webhook.WebhookEvent:
        def find() -> webhook.WebhookEvent | None:
            return next((e for e in self.events if e.event == kind and e.room.name == room_name), None)

        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: find() is not None), timeout)
        found = find()
        assert found is not None
        return found


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    target = Receiver()
    app = web.Application()
    app.router.add_post("/hooks", target.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    target.url = f"http://127.0.0.1:{port}/hooks"
    yield target
    await runner.cleanup()


@pytest.fixture
async def server(receiver: Receiver) -> AsyncIterator[ServerHandle]:
    config = ServerConfig(
        port=0,
        keys=ApiKeys({KEY: SECRET, WEBHOOK_KEY: WEBHOOK_SECRET}),
        webhook_urls=(receiver.url,),
        webhook_api_key=WEBHOOK_KEY,
    )
    handle = await start_server(config)
    yield handle
    await handle.close()


async def test_room_and_participant_events_arrive_signed_in_order(
    server: ServerHandle, receiver: Receiver
) -> None:
    name = f"hooks-{uuid.uuid4().hex[:8]}"
    async with api.LiveKitAPI(server.http_url, KEY, SECRET) as lkapi:
        created = await lkapi.room.create_room(room.CreateRoomRequest(name=name))
        async with SignalParticipant(server.http_url, join_token(name, "bob")):
            joined = await receiver.wait_for("participant_joined", name)
        left = await receiver.wait_for("participant_left", name)
        await lkapi.room.delete_room(room.DeleteRoomRequest(room=name))
    finished = await receiver.wait_for("room_finished", name)

    ours = [e for e in receiver.events if e.room.name == name]
    assert [e.event for e in ours] == [
        "room_started",
        "participant_joined",
        "participant_left",
        "room_finished",
    ]
    assert ours[0].room.sid == created.sid
    assert joined.participant.identity == left.participant.identity == "bob"
    assert finished.room.sid == created.sid
    ids = [e.id for e in ours]
    assert all(i.startswith("EV_") for i in ids)
    assert len(set(ids)) == len(ids)
    assert all(e.created_at > 0 for e in ours)
    assert set(receiver.content_types) == {"application/webhook+json"}


async def test_a_failing_receiver_still_gets_the_event(server: ServerHandle, receiver: Receiver) -> None:
    receiver.fail_first = 2
    name = f"retry-{uuid.uuid4().hex[:8]}"
    async with api.LiveKitAPI(server.http_url, KEY, SECRET) as lkapi:
        await lkapi.room.create_room(room.CreateRoomRequest(name=name))
    started = await receiver.wait_for("room_started", name)
    assert started.room.name == name
    assert receiver.attempts == 3
    assert len(receiver.events) == 1


def test_webhook_urls_need_a_known_signing_key() -> None:
    with pytest.raises(WebhookConfigError, match="api_key is required"):
        WebhookNotifier(ServerConfig(webhook_urls=("http://127.0.0.1:9/hooks",)))
    with pytest.raises(WebhookConfigError, match="not one of the keys"):
        WebhookNotifier(ServerConfig(webhook_urls=("http://127.0.0.1:9/hooks",), webhook_api_key="nope"))
