from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import structlog
from advanced_alchemy.extensions.litestar.providers import create_service_provider
from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.status_codes import HTTP_202_ACCEPTED
from saq import Queue
from sqlalchemy.ext.asyncio import AsyncSession

from control_plane.db import models as m
from control_plane.domain.accounts.guards import requires_staff
from control_plane.domain.interviews.access import get_visible_session
from control_plane.domain.summaries.queue import provide_summary_queue, push_summary_job
from control_plane.domain.summaries.schemas import SummaryOut, summary_out
from control_plane.domain.summaries.services import SummaryService
from control_plane.lib import openapi
from control_plane.lib.openapi import DeclaredErrorsOnly, problem_responses
from control_plane.lib.problems import ConflictError
from control_plane.settings import get_settings


class SummaryController(Controller):
    path = "/sessions/{session_id:uuid}/summary"
    tags = ["Summaries"]
    security = openapi.USER
    dependencies = {
        "summaries": Provide(create_service_provider(SummaryService)),
        "summary_queue": Provide(provide_summary_queue, sync_to_thread=False),
    }

    @get(
        "/",
        operation_id="getSummary",
        summary="The session's scorecard and its status",
        responses=problem_responses(401, 404),
        operation_class=DeclaredErrorsOnly,
    )
    async def get_summary(
        self,
        request: Request[m.User, Any, Any],
        session_id: UUID,
        db_session: AsyncSession,
        summaries: SummaryService,
    ) -> SummaryOut:
        structlog.contextvars.bind_contextvars(session_id=str(session_id))
        await get_visible_session(db_session, request.user, session_id)
        summary = await summaries.for_session(session_id)
        if summary is None:
            raise NotFoundException(detail="No summary has been requested for this session yet")
        return summary_out(summary, show_error=request.user.can_see_all_sessions)

    @post(
        "/retry",
        operation_id="retrySummary",
        guards=[requires_staff],
        status_code=HTTP_202_ACCEPTED,
        summary="Queue a failed or stuck summary again (recruiters and admins)",
        responses=problem_responses(400, 401, 403, 404, 409, 413, 415),
    )
    async def retry_summary(
        self,
        request: Request[m.User, Any, Any],
        session_id: UUID,
        db_session: AsyncSession,
        summaries: SummaryService,
        summary_queue: Queue,
    ) -> SummaryOut:
        structlog.contextvars.bind_contextvars(session_id=str(session_id))
        await get_visible_session(db_session, request.user, session_id)
        summary = await summaries.for_session(session_id)
        if summary is None:
            raise NotFoundException(detail="No summary has been requested for this session yet")
        stale_before = datetime.now(UTC) - timedelta(seconds=get_settings().worker.stale_after_s)
        if summary.status != m.SummaryStatus.FAILED and not summaries.is_stale(summary, stale_before):
            raise ConflictError(
                detail=f"The summary is {summary.status}; only a failed or stuck one can be retried"
            )
        summaries.reset_for_retry(summary)
        # Commit before enqueueing: a worker that picked the job up first would still see the row failed
        # and skip it. If the enqueue fails after the commit, the reconciler queues the pending row later.
        await db_session.commit()
        await push_summary_job(summary_queue, session_id)
        structlog.get_logger(__name__).info("summary_retry_requested", by=str(request.user.id))
        return summary_out(summary, show_error=request.user.can_see_all_sessions)
