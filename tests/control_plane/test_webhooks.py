from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from datetime import timedelta
from typing import Any

from google.protobuf.json_format import MessageToJson
from litestar import Litestar
from litestar.testing import AsyncTestClient
from livekit import api
from livekit.protocol.models import DisconnectReason, ParticipantInfo, Room
from livekit.protocol.webhook import WebhookEvent
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from control_plane.db import models as m
from tests.conftest import TEST_ENV, MakeUser
from tests.control_plane.helpers import assert_problem, create_session
from tests.control_plane.summary_queue import summary_job_exists


def event_body(
    event: str, room_name: str, event_id: str | None = None, participant: ParticipantInfo | None = None
) -> bytes:
    message = WebhookEvent(
        event=event,
        room=Room(name=room_name, sid="RM_test"),
        id=event_id or f"EV_{uuid.uuid4().hex[:12]}",
        created_at=int(time.time()),
        participant=participant,
    )
    return MessageToJson(message).encode()


def sign(body: bytes, *, secret: str | None = None, ttl: timedelta = timedelta(minutes=5)) -> str:
    """Exactly as livekit-server signs: HS256 JWT issued by the API key, with the body's sha256."""
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    token = api.AccessToken(TEST_ENV["LIVEKIT_API_KEY"], secret or TEST_ENV["LIVEKIT_API_SECRET"])
    return token.with_sha256(digest).with_ttl(ttl).to_jwt()


async def deliver(client: AsyncTestClient[Litestar], body: bytes, auth: str | None) -> Any:
    headers = {"Content-Type": "application/webhook+json"}
    if auth is not None:
        headers["Authorization"] = auth
    return await client.post("/livekit/webhook", content=body, headers=headers)


async def session_status(client: AsyncTestClient[Litestar], user: Any, session_id: str) -> str:
    status: str = (await client.get(f"/sessions/{session_id}", headers=user.headers)).json()["status"]
    return status


async def event_count(db: AsyncSession) -> int:
    return int((await db.execute(select(func.count()).select_from(m.WebhookEvent))).scalar_one())


async def test_room_finished_completes_session_and_queues_summary(
    client: AsyncTestClient[Litestar], make_user: MakeUser, redis: Redis
) -> None:
    user = await make_user()
    session = await create_session(client, user)
    body = event_body("room_finished", session["room_name"])
    response = await deliver(client, body, sign(body))
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "applied"}
    assert await session_status(client, user, session["id"]) == "completed"
    assert await summary_job_exists(redis, session["id"])


async def test_duplicate_and_reordered_deliveries_apply_once(
    client: AsyncTestClient[Litestar], make_user: MakeUser, db_session: AsyncSession
) -> None:
    user = await make_user()
    session = await create_session(client, user)
    finished = event_body("room_finished", session["room_name"], "EV_finished_" + session["id"][:8])
    started = event_body("room_started", session["room_name"])
    # LiveKit retries deliveries; they can also arrive out of order.
    assert (await deliver(client, finished, sign(finished))).json() == {"status": "applied"}
    assert (await deliver(client, finished, sign(finished))).json() == {"status": "duplicate"}
    assert (await deliver(client, started, sign(started))).json() == {"status": "applied"}
    assert await session_status(client, user, session["id"]) == "completed"
    summaries = await db_session.execute(
        select(func.count()).select_from(m.Summary).where(m.Summary.session_id == uuid.UUID(session["id"]))
    )
    assert summaries.scalar_one() == 1


async def test_forged_tampered_stale_and_unsigned_webhooks_are_refused(
    client: AsyncTestClient[Litestar], make_user: MakeUser, db_session: AsyncSession
) -> None:
    user = await make_user()
    session = await create_session(client, user)
    body = event_body("room_finished", session["room_name"])
    tampered = body.replace(b"room_finished", b"room_started")
    before = await event_count(db_session)
    cases = [
        sign(body, secret="an-attacker-secret-that-is-long-enough-0123"),  # forged
        sign(body.replace(b"room_finished", b"room_started")),  # signature of another body
        sign(body, ttl=timedelta(seconds=-120)),  # stale: expired token
        "not-a-jwt",
    ]
    for auth in cases:
        assert_problem(await deliver(client, body, auth), 401)
    assert_problem(await deliver(client, tampered, sign(body)), 401)
    assert_problem(await deliver(client, body, None), 401)
    assert await session_status(client, user, session["id"]) == "created"
    assert await event_count(db_session) == before


async def test_webhook_bad_bodies(client: AsyncTestClient[Litestar], db_session: AsyncSession) -> None:
    before = await event_count(db_session)
    not_json = b"{this is not json"
    assert_problem(await deliver(client, not_json, sign(not_json)), 400)
    no_id = json.dumps({"event": "room_finished", "room": {"name": "x"}}).encode()
    assert_problem(await deliver(client, no_id, sign(no_id)), 400)
    huge = b'{"event": "room_finished", "id": "EV_x", "room": {"metadata": "' + b"x" * 100_000 + b'"}}'
    assert_problem(await deliver(client, huge, sign(huge)), 413)
    assert await event_count(db_session) == before


async def test_room_finished_for_cancelled_session_changes_nothing(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    user = await make_user()
    session = await create_session(client, user)
    await client.post(f"/sessions/{session['id']}/cancel", headers=user.headers)
    body = event_body("room_finished", session["room_name"])
    assert (await deliver(client, body, sign(body))).status_code == 200
    assert await session_status(client, user, session["id"]) == "cancelled"


async def test_agent_leaving_a_live_interview_fails_the_session(
    client: AsyncTestClient[Litestar], make_user: MakeUser, service_headers: dict[str, str]
) -> None:
    user = await make_user()
    session = await create_session(client, user)
    agent = ParticipantInfo(identity="agent-AJ_1", kind=ParticipantInfo.Kind.AGENT)
    candidate = ParticipantInfo(identity=f"user-{user.id}", kind=ParticipantInfo.Kind.STANDARD)
    await client.post(f"/internal/sessions/{session['id']}/live", headers=service_headers)

    left = event_body("participant_left", session["room_name"], participant=candidate)
    assert (await deliver(client, left, sign(left))).status_code == 200
    assert await session_status(client, user, session["id"]) == "live"

    gone = event_body("participant_left", session["room_name"], participant=agent)
    assert (await deliver(client, gone, sign(gone))).status_code == 200
    got = (await client.get(f"/sessions/{session['id']}", headers=user.headers)).json()
    assert got["status"] == "failed"
    assert "agent left" in got["failure_reason"]
    # The room closing afterwards does not turn the failure into a completion.
    finished = event_body("room_finished", session["room_name"])
    await deliver(client, finished, sign(finished))
    assert await session_status(client, user, session["id"]) == "failed"


async def test_agent_leaving_after_completion_changes_nothing(
    client: AsyncTestClient[Litestar], make_user: MakeUser, service_headers: dict[str, str]
) -> None:
    user = await make_user()
    session = await create_session(client, user)
    await client.post(f"/internal/sessions/{session['id']}/live", headers=service_headers)
    await client.post(f"/internal/sessions/{session['id']}/complete", headers=service_headers)
    agent = ParticipantInfo(identity="agent-AJ_2", kind=ParticipantInfo.Kind.AGENT)
    gone = event_body("participant_left", session["room_name"], participant=agent)
    assert (await deliver(client, gone, sign(gone))).status_code == 200
    assert await session_status(client, user, session["id"]) == "completed"


async def test_agent_leaving_because_the_room_ended_is_not_a_crash(
    client: AsyncTestClient[Litestar], make_user: MakeUser, service_headers: dict[str, str]
) -> None:
    for reason in (DisconnectReason.ROOM_DELETED, DisconnectReason.ROOM_CLOSED):
        user = await make_user()
        session = await create_session(client, user)
        await client.post(f"/internal/sessions/{session['id']}/live", headers=service_headers)
        agent = ParticipantInfo(
            identity=f"agent-AJ_{reason}", kind=ParticipantInfo.Kind.AGENT, disconnect_reason=reason
        )
        gone = event_body("participant_left", session["room_name"], participant=agent)
        assert (await deliver(client, gone, sign(gone))).status_code == 200
        assert await session_status(client, user, session["id"]) == "live"
        finished = event_body("room_finished", session["room_name"])
        assert (await deliver(client, finished, sign(finished))).status_code == 200
        assert await session_status(client, user, session["id"]) == "completed"


async def test_a_candidate_leaving_a_live_interview_changes_nothing(
    client: AsyncTestClient[Litestar], make_user: MakeUser, service_headers: dict[str, str]
) -> None:
    """A reload, a lost connection or a second tab: the agent waits for the candidate to rejoin and ends
    the interview itself if they do not, so no candidate departure may complete or fail the session."""
    user = await make_user()
    session = await create_session(client, user)
    await client.post(f"/internal/sessions/{session['id']}/live", headers=service_headers)
    for reason in (
        DisconnectReason.CLIENT_INITIATED,
        DisconnectReason.DUPLICATE_IDENTITY,
        DisconnectReason.SIGNAL_CLOSE,
        DisconnectReason.CONNECTION_TIMEOUT,
    ):
        candidate = ParticipantInfo(
            identity=f"user-{user.id}", kind=ParticipantInfo.Kind.STANDARD, disconnect_reason=reason
        )
        left = event_body("participant_left", session["room_name"], participant=candidate)
        assert (await deliver(client, left, sign(left))).status_code == 200
    got = (await client.get(f"/sessions/{session['id']}", headers=user.headers)).json()
    assert (got["status"], got["end_reason"]) == ("live", None)
