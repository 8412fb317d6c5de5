from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
import structlog
from advanced_alchemy.extensions.litestar.providers import create_service_provider
from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from control_plane.db import models as m
from control_plane.domain.interviews.access import get_visible_session
from control_plane.domain.interviews.schemas import (
    SegmentOut,
    SessionCreate,
    SessionOut,
    SessionPage,
    TranscriptOut,
)
from control_plane.domain.interviews.services import InterviewSessionService, TranscriptService
from control_plane.domain.interviews.transitions import transition
from control_plane.domain.rooms.server_api import end_room
from control_plane.settings import get_settings


def session_out(session: m.InterviewSession) -> SessionOut:
    return msgspec.convert(session, SessionOut, from_attributes=True)


def segment_out(segment: m.TranscriptSegment) -> SegmentOut:
    return msgspec.convert(segment, SegmentOut, from_attributes=True)


class InterviewSessionController(Controller):
    path = "/sessions"
    tags = ["Interview sessions"]
    dependencies = {
        "sessions": Provide(create_service_provider(InterviewSessionService)),
        "transcripts": Provide(create_service_provider(TranscriptService)),
    }

    @post("/", status_code=HTTP_201_CREATED, summary="Start planning an interview")
    async def create_session(
        self, request: Request[m.User, Any, Any], data: SessionCreate, sessions: InterviewSessionService
    ) -> SessionOut:
        session = await sessions.open(request.user, data)
        structlog.contextvars.bind_contextvars(session_id=str(session.id))
        return session_out(session)

    @get("/", summary="List sessions: your own, or all for recruiters and admins")
    async def list_sessions(
        self,
        request: Request[m.User, Any, Any],
        sessions: InterviewSessionService,
        page: Annotated[int, Parameter(ge=1, le=100_000)] = 1,
        page_size: Annotated[int, Parameter(ge=1, le=100)] = 20,
    ) -> SessionPage:
        items, total = await sessions.page_for(request.user, page=page, page_size=page_size)
        return SessionPage(items=[session_out(s) for s in items], total=total, page=page, page_size=page_size)

    @get("/{session_id:uuid}", summary="One session")
    async def get_session(
        self, request: Request[m.User, Any, Any], session_id: UUID, db_session: AsyncSession
    ) -> SessionOut:
        structlog.contextvars.bind_contextvars(session_id=str(session_id))
        return session_out(await get_visible_session(db_session, request.user, session_id))

    @post(
        "/{session_id:uuid}/cancel",
        status_code=HTTP_200_OK,
        summary="Cancel a session that has not ended; its LiveKit room is closed",
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

    @get("/{session_id:uuid}/transcript", summary="The stored transcript, in order")
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
