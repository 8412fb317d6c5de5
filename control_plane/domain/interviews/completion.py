"""Ending an interview: the session is completed once, and its summary job is queued with it."""

from __future__ import annotations

from litestar_saq import TaskQueues
from sqlalchemy.ext.asyncio import AsyncSession

from control_plane.db import models as m
from control_plane.domain.interviews.transitions import transition
from control_plane.domain.summaries.queue import enqueue_summary, provide_summary_queue


async def complete_session(
    db: AsyncSession, task_queues: TaskQueues, session: m.InterviewSession, *, end_reason: str | None = None
) -> bool:
    """Complete `session`, recording why it ended (`end_reason`, e.g. `time_up`; None: not known).

    Returns False when the session was already completed: a repeated call changes nothing, its reason
    included. Raises ConflictError (409) when the session is failed or cancelled.
    """
    if not transition(session, m.SessionStatus.COMPLETED):
        return False
    session.end_reason = end_reason
    await enqueue_summary(db, provide_summary_queue(task_queues), session.id)
    return True
