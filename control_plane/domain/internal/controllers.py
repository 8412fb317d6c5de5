"""The agent's API: session status and transcript appends. Every call is safe to retry."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import msgspec
import structlog
from advanced_alchemy.extensions.litestar.providers import create_service_provider
from litestar import Controller, post
from litestar.di import Provide
from litestar.exceptions import NotFoundException, ValidationException
from litestar.openapi.spec import Operation, Reference, RequestBody, Schema
from litestar.status_codes import HTTP_200_OK
from litestar_saq import TaskQueues
from sqlalchemy.ext.asyncio import AsyncSession

from control_plane.db import models as m
from control_plane.domain.internal.guards import requires_service_token
from control_plane.domain.internal.schemas import (
    CompletionIn,
    FailureIn,
    SegmentBatch,
    StatusOut,
    StoredOut,
)
from control_plane.domain.interviews.completion import complete_session
from control_plane.domain.interviews.services import InterviewSessionService, TranscriptService
from control_plane.domain.interviews.transitions import transition
from control_plane.lib import openapi
from control_plane.lib.openapi import problem_responses
from control_plane.lib.problems import ConflictError


@dataclass
class OptionalBody(Operation):
    """For a handler whose body may be left out (`data: X | None = None`): Litestar 2.25 documents every
    request body as required, with the schema `X | null`. OpenAPI's way is an optional body of schema X."""

    def __post_init__(self) -> None:
        if not isinstance(self.request_body, RequestBody):
            return
        self.request_body.required = False
        for media in (self.request_body.content or {}).values():
            schema = media.schema
            if isinstance(schema, Schema) and schema.one_of:
                refs = [option for option in schema.one_of if isinstance(option, Reference)]
                if len(refs) == 1:
                    media.schema = refs[0]


# Every call: a body the API cannot read (400), too large (413) or not JSON (415), a wrong service token
# (401), an unknown session (404), a status move the session's state forbids (409).
_ERRORS = problem_responses(400, 401, 404, 409, 413, 415)


async def _locked(sessions: InterviewSessionService, session_id: UUID) -> m.InterviewSession:
    structlog.contextvars.bind_contextvars(session_id=str(session_id))
    session = await sessions.lock(session_id)
    if session is None:
        raise NotFoundException(detail="Interview session not found")
    return session


def _status(session: m.InterviewSession) -> StatusOut:
    return StatusOut(session_id=str(session.id), status=session.status)


class InternalAgentController(Controller):
    path = "/internal/sessions"
    tags = ["Internal (agent)"]
    guards = [requires_service_token]
    security = openapi.AGENT
    include_in_schema = True
    dependencies = {
        "sessions": Provide(create_service_provider(InterviewSessionService)),
        "transcripts": Provide(create_service_provider(TranscriptService)),
    }

    @post(
        "/{session_id:uuid}/live",
        operation_id="markSessionLive",
        status_code=HTTP_200_OK,
        summary="The agent has joined the room",
        responses=_ERRORS,
    )
    async def mark_live(self, session_id: UUID, sessions: InterviewSessionService) -> StatusOut:
        session = await _locked(sessions, session_id)
        transition(session, m.SessionStatus.LIVE)
        await sessions.save()
        return _status(session)

    @post(
        "/{session_id:uuid}/transcript",
        operation_id="appendTranscript",
        status_code=HTTP_200_OK,
        summary="Append finished turns",
        description="Each segment's end_ms must not be before its start_ms (400 otherwise).",
        responses=_ERRORS,
    )
    async def append_transcript(
        self,
        session_id: UUID,
        data: SegmentBatch,
        sessions: InterviewSessionService,
        transcripts: TranscriptService,
    ) -> StoredOut:
        session = await _locked(sessions, session_id)
        if session.status == m.SessionStatus.CANCELLED:
            raise ConflictError(detail="Session was cancelled")
        for segment in data.segments:
            if segment.end_ms < segment.start_ms:
                raise ValidationException(detail=f"Segment {segment.seq}: end_ms is before start_ms")
        stored = await transcripts.append(session_id, [msgspec.structs.asdict(s) for s in data.segments])
        return StoredOut(stored=stored)

    @post(
        "/{session_id:uuid}/complete",
        operation_id="markSessionCompleted",
        status_code=HTTP_200_OK,
        summary="The interview ended normally",
        description=(
            "The body is optional (agents before `end_reason` send none). A repeated call changes nothing, "
            "the first call's `end_reason` included."
        ),
        responses=_ERRORS,
        operation_class=OptionalBody,
    )
    async def mark_completed(
        self,
        session_id: UUID,
        sessions: InterviewSessionService,
        db_session: AsyncSession,
        task_queues: TaskQueues,
        data: CompletionIn | None = None,
    ) -> StatusOut:
        session = await _locked(sessions, session_id)
        end_reason = data.end_reason if data is not None else None
        await complete_session(db_session, task_queues, session, end_reason=end_reason)
        await sessions.save()
        return _status(session)

    @post(
        "/{session_id:uuid}/fail",
        operation_id="markSessionFailed",
        status_code=HTTP_200_OK,
        summary="The interview could not go on",
        responses=_ERRORS,
    )
    async def mark_failed(
        self, session_id: UUID, data: FailureIn, sessions: InterviewSessionService
    ) -> StatusOut:
        session = await _locked(sessions, session_id)
        transition(session, m.SessionStatus.FAILED, reason=data.reason)
        await sessions.save()
        return _status(session)
