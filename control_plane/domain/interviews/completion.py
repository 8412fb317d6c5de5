"""Ending an interview: the session is completed once, and its summary job is queued with it."""

from __future__ import annotations

from litestar_saq import TaskQueues
from sqlalchemy.ext.asyncio import AsyncSession

from control_plane.db import models as m
from control_plane.domain.interviews.transitions import transition
from control_plane.domain.summaries.queue import enqueue_summary, provide_summary_queue


async def complete_session(db: AsyncSession, task_queues: TaskQueues, session: m.InterviewSession) -> bool:
    """Returns False when the session was already completed (a repeated call changes nothing)."""
    if not transition(session, m.SessionStatus.COMPLETED):
        return False
    await enqueue_summary(db, provide_summary_queue(task_queues), session.id)
    return True
