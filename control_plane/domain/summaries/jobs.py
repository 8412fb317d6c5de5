"""SAQ tasks of the summary worker: write one scorecard, and reconcile rows whose job was lost.

Failure handling, in one place:
- an error inside a run is stored on the row and SAQ retries the job with backoff; after the last attempt
  the row is failed by the after-process hook, i.e. only once SAQ has finished the job, so a staff retry
  that follows can never collapse into the dying job;
- a run whose worker dies stops heartbeating; SAQ's sweep in any live worker retries the job and the new
  run takes over the row (see services.Claim);
- a job Redis forgot (restart, flush) leaves its row pending or running: the reconciler cron re-enqueues it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import UUID

import structlog
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from redis.exceptions import RedisError
from saq import Job
from saq.job import Status
from saq.types import Context

from control_plane import log as logging_setup
from control_plane.db import models as m
from control_plane.domain.interviews.services import TranscriptService
from control_plane.domain.summaries.llm_summary import LLMScorecardWriter
from control_plane.domain.summaries.offline_summary import build_offline_summary
from control_plane.domain.summaries.queue import push_summary_job
from control_plane.domain.summaries.services import CLAIMABLE, Claim, SummaryService
from control_plane.domain.summaries.transcript import InterviewTranscript, from_models
from control_plane.lib.db import get_alchemy_config
from control_plane.settings import Settings, get_settings

log = structlog.get_logger(__name__)

RUNTIME_KEY = "summaries"
# Per-job context entries: the run's claim on the row, and the error it ended with.
CLAIM_KEY = "summary_claim"
ERROR_KEY = "summary_error"
# The enqueuing transaction may commit a moment after the job is picked up; wait this long for its row.
ROW_VISIBILITY_WAIT_S = 2.0
# Leave room to store the failure before SAQ's own timeout cancels the run.
TIMEOUT_MARGIN_S = 5


class SummaryRowMissingError(Exception):
    """No summary row for the job's session (its transaction has not committed, or rolled back)."""


@dataclass(slots=True)
class SummaryRuntime:
    settings: Settings
    db: SQLAlchemyAsyncConfig
    writer: LLMScorecardWriter | None


def _runtime(ctx: Context) -> SummaryRuntime:
    return cast("SummaryRuntime", cast("dict[str, Any]", ctx)[RUNTIME_KEY])


async def on_worker_startup(ctx: Context) -> None:
    settings = get_settings()
    logging_setup.configure(settings.log)
    writer = LLMScorecardWriter(settings.llm) if settings.llm.enabled else None
    cast("dict[str, Any]", ctx)[RUNTIME_KEY] = SummaryRuntime(
        settings=settings, db=get_alchemy_config(), writer=writer
    )
    log.info(
        "summary_worker_started",
        queue=ctx["worker"].queue.name,
        llm=settings.llm.model if writer else "offline",
        concurrency=settings.worker.concurrency,
    )


async def on_worker_shutdown(ctx: Context) -> None:
    runtime = cast("dict[str, Any]", ctx).get(RUNTIME_KEY)
    if isinstance(runtime, SummaryRuntime):
        await runtime.db.get_engine().dispose()
    log.info("summary_worker_stopped")


async def bind_job_log_context(ctx: Context) -> None:
    job = ctx.get("job")
    if job is not None:
        structlog.contextvars.bind_contextvars(
            job_key=job.key,
            attempt=job.attempts,
            session_id=(job.kwargs or {}).get("session_id"),
        )


async def settle_summary_run(ctx: Context) -> None:
    """After SAQ has settled the job: a run that failed for good (or that an admin aborted in the SAQ UI)
    fails its row. Here rather than in the task, because until SAQ has finished the job a new enqueue with
    its key would collapse into it. This also covers a run cancelled by SAQ's own timeout."""
    try:
        job = ctx.get("job")
        values = cast("dict[str, Any]", ctx)
        claim = values.get(CLAIM_KEY)
        if job is None or not isinstance(claim, Claim) or job.status not in (Status.FAILED, Status.ABORTED):
            return
        exception = ctx.get("exception")
        error = values.get(ERROR_KEY) or (
            _describe(claim, exception) if exception else f"attempt {claim.attempts}: aborted: {job.error}"
        )
        async with _runtime(ctx).db.get_session() as db, db.begin():
            await SummaryService(session=db).record_failure(claim, error, final=True)
        log.warning("summary_failed", error=error)
    finally:
        structlog.contextvars.unbind_contextvars("job_key", "attempt", "session_id")


def _describe(claim: Claim, exc: BaseException) -> str:
    return f"attempt {claim.attempts}: {type(exc).__name__}: {exc}"


@contextlib.asynccontextmanager
async def heartbeat(job: Job, every_s: float) -> AsyncIterator[None]:
    """Touch the job while it runs. litestar-saq's HeartbeatManager only starts when the worker runs inside
    the web app, not under `litestar workers run`, so the job keeps its own heartbeat."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await job.update()
            except RedisError as exc:
                log.warning("job_heartbeat_failed", error=str(exc))

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def generate_summary(ctx: Context, *, session_id: str) -> dict[str, Any]:
    job = ctx["job"]
    interval = max(job.heartbeat / 3, 0.5) if job.heartbeat else 10.0
    async with heartbeat(job, interval):
        return await _run(ctx, job, UUID(session_id))


async def _run(ctx: Context, job: Job, session_id: UUID) -> dict[str, Any]:
    runtime = _runtime(ctx)
    values = cast("dict[str, Any]", ctx)
    claim = await _claim(runtime, session_id)
    if claim is None:
        return {"outcome": "skipped"}
    values[CLAIM_KEY] = claim
    try:
        async with asyncio.timeout(max(job.timeout - TIMEOUT_MARGIN_S, 1) if job.timeout else None):
            scorecard, model = await _write(runtime, session_id)
    except Exception as exc:
        values[ERROR_KEY] = error = _describe(claim, exc)
        if job.retryable:
            # Before SAQ schedules the retry, so the next run finds the row pending with this error.
            async with runtime.db.get_session() as db, db.begin():
                await SummaryService(session=db).record_failure(claim, error, final=False)
        log.warning("summary_attempt_failed", error=error, will_retry=job.retryable)
        raise
    async with runtime.db.get_session() as db, db.begin():
        stored = await SummaryService(session=db).complete(claim, scorecard, model)
    if not stored:
        log.warning("summary_claim_lost")
        return {"outcome": "claim_lost"}
    log.info("summary_done", kind=scorecard.get("kind"), attempts=claim.attempts)
    return {"outcome": "done", "kind": scorecard.get("kind")}


async def _claim(runtime: SummaryRuntime, session_id: UUID) -> Claim | None:
    deadline = asyncio.get_running_loop().time() + ROW_VISIBILITY_WAIT_S
    while True:
        async with runtime.db.get_session() as db, db.begin():
            service = SummaryService(session=db)
            claim = await service.claim(session_id)
            if claim is not None:
                return claim
            summary = await service.for_session(session_id)
        if summary is not None and summary.status not in CLAIMABLE:
            # Done or failed: a repeated job changes nothing.
            log.info("summary_not_claimable", status=summary.status)
            return None
        # No row yet, or a claimable row the UPDATE did not see: the enqueuing transaction committed
        # between the UPDATE's snapshot and the SELECT's. Both mean "try again shortly".
        if asyncio.get_running_loop().time() >= deadline:
            if summary is not None:
                log.info("summary_not_claimable", status=summary.status)
                return None
            raise SummaryRowMissingError(f"no summary row for session {session_id}")
        await asyncio.sleep(0.05)


async def _write(runtime: SummaryRuntime, session_id: UUID) -> tuple[dict[str, Any], str | None]:
    transcript = await _load_transcript(runtime, session_id)
    if runtime.writer is None or not transcript.candidate_segments():
        # Nothing for a model to judge, or no model: statistics only, labelled as such.
        return build_offline_summary(transcript), None
    return await runtime.writer.write(transcript), runtime.writer.model_name


async def _load_transcript(runtime: SummaryRuntime, session_id: UUID) -> InterviewTranscript:
    async with runtime.db.get_session() as db:
        session = await db.get(m.InterviewSession, session_id)
        if session is None:
            raise SummaryRowMissingError(f"interview session {session_id} no longer exists")
        rows = await TranscriptService(session=db).for_session(session_id)
        return from_models(session, rows)


async def reconcile_summaries(ctx: Context) -> dict[str, int]:
    """Re-enqueue summaries that have waited or run longer than `stale_after_s`: their job was lost
    (Redis restarted or was flushed, or its worker died and SAQ gave up). Duplicate keys collapse, so a
    job that is merely slow is not doubled. A row whose attempts are used up is failed instead."""
    runtime = _runtime(ctx)
    worker = runtime.settings.worker
    cutoff = datetime.now(UTC) - timedelta(seconds=worker.stale_after_s)
    requeued = failed = 0
    async with runtime.db.get_session() as db, db.begin():
        service = SummaryService(session=db)
        for summary in await service.list_stale(cutoff):
            if summary.status == m.SummaryStatus.RUNNING and summary.attempts >= worker.max_attempts:
                service.give_up(summary, f"abandoned after {summary.attempts} attempts: the worker was lost")
                failed += 1
                continue
            await push_summary_job(ctx["worker"].queue, summary.session_id)
            service.mark_requeued(summary)
            requeued += 1
    if requeued or failed:
        log.info("summaries_reconciled", requeued=requeued, failed=failed)
    return {"requeued": requeued, "failed": failed}
