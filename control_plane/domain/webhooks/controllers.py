"""LiveKit webhooks. The signature (JWT with the body's sha256) is checked on the raw body before
anything is parsed; each event id is applied once."""

from __future__ import annotations

from typing import Any

import structlog
from google.protobuf import json_format
from litestar import Controller, Request, post
from litestar.exceptions import ClientException, NotAuthorizedException
from litestar.status_codes import HTTP_200_OK, HTTP_413_REQUEST_ENTITY_TOO_LARGE
from litestar_saq import TaskQueues
from livekit import api
from livekit.protocol.models import DisconnectReason, ParticipantInfo
from livekit.protocol.webhook import WebhookEvent
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from control_plane.db import models as m
from control_plane.domain.interviews.completion import complete_session
from control_plane.domain.interviews.transitions import transition
from control_plane.lib import openapi
from control_plane.lib.openapi import problem_responses
from control_plane.settings import get_settings

MAX_WEBHOOK_BYTES = 64 * 1024
log = structlog.get_logger()


def verify(body: bytes, authorization: str | None) -> WebhookEvent:
    if not authorization:
        raise NotAuthorizedException(detail="Missing webhook signature")
    token = authorization.removeprefix("Bearer ").strip()
    settings = get_settings().livekit
    receiver = api.WebhookReceiver(api.TokenVerifier(settings.api_key, settings.api_secret))
    try:
        return receiver.receive(body.decode("utf-8"), token)
    except (json_format.ParseError, UnicodeDecodeError) as exc:
        # Only reachable once the signature matched: a signed body that is not a WebhookEvent.
        raise ClientException(detail="Malformed webhook body") from exc
    except Exception as exc:  # the SDK raises bare Exceptions and PyJWT errors alike
        log.warning("webhook_rejected", reason=str(exc)[:200])
        raise NotAuthorizedException(detail="Invalid webhook signature") from exc


async def record_once(db: AsyncSession, event: WebhookEvent) -> bool:
    """True the first time an event id is seen."""
    inserted = await db.execute(
        insert(m.WebhookEvent)
        .values(event_id=event.id, event_type=event.event, room_name=event.room.name or None)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(m.WebhookEvent.id)
    )
    return inserted.first() is not None


ROOM_CLOSED_END_REASON = "room_closed"
AGENT_LEFT_REASON = "The interviewer agent left the room before the interview ended"
# The room itself ended (deleted through the API, or closed by the server): every participant leaves, the
# agent ends the interview and reports `complete`, and `room_finished` completes the session.
ROOM_ENDED = frozenset({DisconnectReason.ROOM_DELETED, DisconnectReason.ROOM_CLOSED})


async def _session_for_room(db: AsyncSession, room_name: str) -> m.InterviewSession | None:
    result = await db.execute(
        select(m.InterviewSession)
        .where(m.InterviewSession.room_name == room_name)
        .with_for_update()
        .execution_options(populate_existing=True)  # the status as of the lock, not an earlier read
    )
    session: m.InterviewSession | None = result.scalar_one_or_none()
    if session is not None:
        structlog.contextvars.bind_contextvars(session_id=str(session.id))
    return session


async def apply_event(db: AsyncSession, task_queues: TaskQueues, event: WebhookEvent) -> None:
    """Only two events change a session. Both are no-ops on a finished session, so redelivery and
    reordering cannot undo anything."""
    if event.event == "room_finished":
        session = await _session_for_room(db, event.room.name)
        if session is not None and not m.SessionStatus(session.status).is_final:
            # The agent reports `complete` with its own reason before it leaves; a session still open when
            # the room finishes ended because the room did.
            await complete_session(db, task_queues, session, end_reason=ROOM_CLOSED_END_REASON)
    elif (
        event.event == "participant_left"
        and event.participant.kind == ParticipantInfo.Kind.AGENT
        and event.participant.disconnect_reason not in ROOM_ENDED
    ):
        # A healthy agent reports `complete` before it leaves; leaving a live interview means it died.
        session = await _session_for_room(db, event.room.name)
        if session is not None and session.status == m.SessionStatus.LIVE:
            transition(session, m.SessionStatus.FAILED, reason=AGENT_LEFT_REASON)


class LiveKitWebhookController(Controller):
    path = "/livekit"
    tags = ["LiveKit"]

    @post(
        "/webhook",
        operation_id="receiveLiveKitWebhook",
        status_code=HTTP_200_OK,
        summary="LiveKit webhook receiver",
        request_max_body_size=MAX_WEBHOOK_BYTES,
        security=openapi.LIVEKIT,
        responses=problem_responses(400, 401, 413, 415),
    )
    async def receive(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, task_queues: TaskQueues
    ) -> dict[str, str]:
        body = await request.body()
        if len(body) > MAX_WEBHOOK_BYTES:
            raise ClientException(
                status_code=HTTP_413_REQUEST_ENTITY_TOO_LARGE, detail="Webhook body too large"
            )
        event = verify(body, request.headers.get("Authorization"))
        if not event.id:
            raise ClientException(detail="Webhook event has no id")
        structlog.contextvars.bind_contextvars(webhook_event=event.event, webhook_id=event.id)
        if not await record_once(db_session, event):
            return {"status": "duplicate"}
        if event.room.name:
            await apply_event(db_session, task_queues, event)
        # Written now: a refusal must be a 500 that LiveKit retries, not a failed commit after a 200.
        await db_session.flush()
        return {"status": "applied"}
