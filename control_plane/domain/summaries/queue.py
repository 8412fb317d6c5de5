"""Putting summary jobs on the SAQ queue. The job key `summary:{session_id}` makes duplicates collapse:
SAQ refuses a second job with a key that is still queued, scheduled or running."""

from __future__ import annotations

from uuid import UUID

import structlog
from litestar_saq import TaskQueues
from redis.exceptions import RedisError
from saq import Job, Queue
from sqlalchemy.ext.asyncio import AsyncSession

from control_plane.db import models as m
from control_plane.domain.summaries.services import SummaryService
from control_plane.settings import get_settings

log = structlog.get_logger(__name__)

SUMMARY_TASK = "generate_summary"
# Finished jobs stay in Redis for a day so the SAQ UI can show them; Postgres keeps the result.
FINISHED_JOB_TTL_S = 24 * 3600


def summary_job_key(session_id: UUID) -> str:
    return f"summary:{session_id}"


def summary_queue_name() -> str:
    settings = get_settings()
    return settings.worker.saq_queue_name(settings.redis)


def provide_summary_queue(task_queues: TaskQueues) -> Queue:
    """Litestar dependency: the summaries queue of the litestar-saq plugin."""
    return task_queues.get(summary_queue_name())


def summary_job(session_id: UUID) -> Job:
    worker = get_settings().worker
    return Job(
        function=SUMMARY_TASK,
        key=summary_job_key(session_id),
        kwargs={"session_id": str(session_id)},
        timeout=worker.job_timeout_s,
        heartbeat=worker.heartbeat_s,
        retries=worker.max_attempts,
        retry_delay=worker.retry_delay_s,
        retry_backoff=worker.retry_backoff_max_s,
        ttl=FINISHED_JOB_TTL_S,
    )


async def push_summary_job(queue: Queue, session_id: UUID) -> bool:
    """Enqueue; False when a job for the session is already waiting or running, or Redis is unreachable.
    The summary row is what counts: the reconciler re-enqueues rows whose job never ran."""
    try:
        job = await queue.enqueue(summary_job(session_id))
    except (RedisError, OSError) as exc:
        log.warning("summary_enqueue_failed", session_id=str(session_id), error=str(exc))
        return False
    return job is not None


async def enqueue_summary(db: AsyncSession, queue: Queue, session_id: UUID) -> m.Summary:
    """Ask for the session's summary. The row is created (or kept) as pending in the caller's transaction;
    a done summary is left untouched and a failed one waits for a staff retry. Calling it twice is
    harmless."""
    summary = await SummaryService(session=db).ensure_pending(session_id)
    if summary.status in (m.SummaryStatus.PENDING, m.SummaryStatus.RUNNING):
        pushed = await push_summary_job(queue, session_id)
        log.info("summary_enqueued", session_id=str(session_id), new_job=pushed, status=summary.status)
    return summary
