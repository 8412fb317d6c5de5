from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final
from uuid import UUID

import aiohttp
import msgspec
import structlog
from advanced_alchemy.extensions.litestar.providers import create_service_provider
from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import Provide
from litestar.exceptions import ValidationException
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED
from livekit.api import TwirpError
from sqlalchemy.ext.asyncio import AsyncSession

from control_plane.db import models as m
from control_plane.domain.interviews.access import get_visible_session
from control_plane.domain.interviews.schemas import (
    SegmentOut,
    SessionCreate,
    SessionFilters,
    SessionOut,
    SessionPage,
    SessionStatusName,
    TranscriptOut,
)
from control_plane.domain.interviews.services import InterviewSessionService, TranscriptService
from control_plane.domain.interviews.transitions import transition
from control_plane.domain.rooms.server_api import delete_room, end_room
from control_plane.domain.summaries.scorecard import Recommendation
from control_plane.lib import openapi
from control_plane.lib.openapi import DeclaredErrorsOnly, problem_responses
from control_plane.lib.problems import ConflictError, ServiceUnavailableError
from control_plane.settings import get_settings


def session_out(session: m.InterviewSession, recommendation: str | None = None) -> SessionOut:
    out = msgspec.convert(session, SessionOut, from_attributes=True)
    if recommendation is not None and recommendation in Recommendation.__members__.values():
        out.recommendation = Recommendation(recommendation)
    return out


def segment_out(segment: m.TranscriptSegment) -> SegmentOut:
    return msgspec.convert(segment, SegmentOut, from_attributes=True)


# RFC 3339 date-times only: Litestar's lenient conversion would also read a number as a Unix timestamp.
_INSTANT: Final[dict[str, Any]] = {"schema_extra": {"format": "date-time"}, "max_length": 64}


def _instant(name: str, value: str | None) -> datetime | None:
    """`value` as an RFC 3339 date-time (with its offset); ValidationException (400) otherwise."""
    if value is None:
        return None
    try:
        instant = msgspec.convert(value, datetime)
    except msgspec.ValidationError:
        instant = None
    if instant is not None and instant.tzinfo is not None:
        return instant
    raise ValidationException(
        detail=f"{name} must be an RFC 3339 date-time with its offset, such as 2026-11-29T09:30:00Z"
    )


class InterviewSessionController(Controller):
    path = "/sessions"
    tags = ["Interview sessions"]
    security = openapi.USER
    dependencies = {
        "sessions": Provide(create_service_provider(InterviewSessionService)),
        "transcripts": Provide(create_service_provider(TranscriptService)),
    }

    @post(
        "/",
        operation_id="createSession",
        status_code=HTTP_201_CREATED,
        summary="Start planning an interview",
        responses=problem_responses(400, 401, 413, 415),
    )
    async def create_session(
        self, request: Request[m.User, Any, Any], data: SessionCreate, sessions: InterviewSessionService
    ) -> SessionOut:
        session = await sessions.open(request.user, data)
        structlog.contextvars.bind_contextvars(session_id=str(session.id))
        return session_out(session)

    @get(
        "/",
        operation_id="listSessions",
        summary="List sessions: your own, or all for recruiters and admins",
        responses=problem_responses(400, 401),
    )
    async def list_sessions(
        self,
        request: Request[m.User, Any, Any],
        sessions: InterviewSessionService,
        page: Annotated[int, Parameter(ge=1, le=100_000)] = 1,
        page_size: Annotated[int, Parameter(ge=1, le=100)] = 20,
        status: Annotated[SessionStatusName | None, Parameter(description="Only this status")] = None,
        role: Annotated[
            str | None, Parameter(min_length=1, max_length=120, description="Part of the role title")
        ] = None,
        recommendation: Annotated[
            Recommendation | None, Parameter(description="Only scorecards with this recommendation")
        ] = None,
        created_after: Annotated[str | None, Parameter(**_INSTANT, description="Created at or after")] = None,
        created_before: Annotated[str | None, Parameter(**_INSTANT, description="Created before")] = None,
    ) -> SessionPage:
        filters = SessionFilters(
            status,
            role,
            recommendation,
            _instant("created_after", created_after),
            _instant("created_before", created_before),
        )
        rows, total = await sessions.page_for(request.user, page=page, page_size=page_size, filters=filters)
        items = [session_out(session, recommendation=rec) for session, rec in rows]
        return SessionPage(items=items, total=total, page=page, page_size=page_size)

    @get(
        "/{session_id:uuid}",
        operation_id="getSession",
        summary="One session",
        responses=problem_responses(401, 404),
        operation_class=DeclaredErrorsOnly,
    )
    async def get_session(
        self, request: Request[m.User, Any, Any], session_id: UUID, db_session: AsyncSession
    ) -> SessionOut:
        structlog.contextvars.bind_contextvars(session_id=str(session_id))
        return session_out(await get_visible_session(db_session, request.user, session_id))

    @post(
        "/{session_id:uuid}/cancel",
        operation_id="cancelSession",
        status_code=HTTP_200_OK,
        summary="Cancel a session that has not ended; its LiveKit room is closed",
        responses=problem_responses(400, 401, 404, 409, 413, 415),
    )
    async def cancel_session(
        self,
        request: Request[m.User, Any, Any],
        session_id: UUID,
        db_session: AsyncSession,
        sessions: InterviewSessionService,
    ) -> Response[SessionOut]:
        structlog.contextvars.bind_contextvars(session_id=str(session_id))
        await get_visible_session(db_session, request.user, session_id)
        session = await sessions.lock(session_id)
        assert session is not None  # visible a moment ago; sessions are never deleted by the API
        transition(session, m.SessionStatus.CANCELLED)
        await sessions.save()
        # After the response, so after the commit: the agent that is disconnected finds `cancelled`.
        ending = BackgroundTask(end_room, get_settings().livekit, str(session.id), session.room_name)
        return Response(session_out(session), background=ending)

    @post(
        "/{session_id:uuid}/end",
        operation_id="endSession",
        status_code=HTTP_202_ACCEPTED,
        summary="End a live interview: its LiveKit room is closed, then the session completes",
        description=(
            "For the candidate (the End button) and for recruiters watching live rooms. The room is deleted "
            "through LiveKit's RoomService at once; LiveKit's `room_finished` webhook then completes the "
            "session and queues its summary, as for any interview that ends. 409 unless the session is live; "
            "503 when LiveKit cannot be reached."
        ),
        responses=problem_responses(401, 404, 409, 503),
        operation_class=DeclaredErrorsOnly,
    )
    async def end_session(
        self, request: Request[m.User, Any, Any], session_id: UUID, db_session: AsyncSession
    ) -> Response[SessionOut]:
        structlog.contextvars.bind_contextvars(session_id=str(session_id))
        session = await get_visible_session(db_session, request.user, session_id)
        if session.status != m.SessionStatus.LIVE:
            raise ConflictError(detail=f"Session is {session.status}; only a live interview can be ended")
        try:
            await delete_room(get_settings().livekit, session.room_name)
        except (TwirpError, aiohttp.ClientError, TimeoutError) as exc:
            raise ServiceUnavailableError(detail="LiveKit could not be reached; try again") from exc
        return Response(session_out(session), status_code=HTTP_202_ACCEPTED)

    @get(
        "/{session_id:uuid}/transcript",
        operation_id="getTranscript",
        summary="The stored transcript, in order",
        responses=problem_responses(401, 404),
        operation_class=DeclaredErrorsOnly,
    )
    async def get_transcript(
        self,
        request: Request[m.User, Any, Any],
        session_id: UUID,
        db_session: AsyncSession,
        transcripts: TranscriptService,
    ) -> TranscriptOut:
        structlog.contextvars.bind_contextvars(session_id=str(session_id))
        session = await get_visible_session(db_session, request.user, session_id)
        segments = await transcripts.for_session(session_id)
        return TranscriptOut(
            session_id=session.id, status=session.status, segments=[segment_out(s) for s in segments]
        )
