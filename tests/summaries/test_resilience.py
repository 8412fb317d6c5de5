"""Summaries survive a worker killed mid-job and a Redis that forgot its queue; duplicates collapse."""

from __future__ import annotations

import asyncio
import time

from saq import Queue
from saq.job import Status

from control_plane.db import models as m
from control_plane.domain.summaries.queue import enqueue_summary, push_summary_job, summary_job_key
from control_plane.lib.db import get_alchemy_config
from tests.summaries.conftest import WorkerProcesses, delete_queue_keys
from tests.summaries.interviews import create_interview, read_summary, wait_for_summary
from tests.summaries.llm_double import ChatRequest, OpenAICompatibleLLMDouble, Reply, honest_answer, slowed
from tests.summaries.test_scorecard_jobs import request_summary

DONE = m.SummaryStatus.DONE
FAILED = m.SummaryStatus.FAILED


async def test_job_of_a_killed_worker_completes_exactly_once_after_restart(
    workers: WorkerProcesses, summary_queue: Queue, llm_double: OpenAICompatibleLLMDouble
) -> None:
    session_id, tag = await create_interview()

    def respond(request: ChatRequest) -> Reply:
        answer = honest_answer(request)
        if len(llm_double.requests_for(tag)) == 1:
            # The first call hangs, so the worker is surely mid-job when it is killed.
            return slowed(answer, 120)
        return answer

    llm_double.responder = respond
    first_worker = workers.start()
    await request_summary(summary_queue, session_id)
    await llm_double.wait_for_requests(1)
    running = await read_summary(session_id)
    assert running is not None
    assert running.status == m.SummaryStatus.RUNNING

    workers.kill(first_worker)
    workers.start()

    summary = await wait_for_summary(session_id, DONE, FAILED)
    assert summary.status == DONE, workers.logs()
    assert summary.attempts == 2
    assert summary.scorecard is not None
    assert summary.scorecard["kind"] == "llm_scorecard"
    job = await summary_queue.job(summary_job_key(session_id))
    assert job is not None
    await job.refresh(until_complete=30)
    assert job.status == Status.COMPLETE
    # One call died with the first worker, one produced the scorecard; nothing ran a third time. (SAQ's
    # own attempt count depends on whether its sweep or our reconciler brought the job back.)
    assert len(llm_double.requests_for(tag)) == 2
    assert (await read_summary(session_id)).finished_at == summary.finished_at  # type: ignore[union-attr]


async def test_reconciler_requeues_summaries_whose_jobs_redis_lost(
    workers: WorkerProcesses, summary_queue: Queue, llm_double: OpenAICompatibleLLMDouble
) -> None:
    sessions = [await create_interview() for _ in range(3)]
    for session_id, _ in sessions:
        await request_summary(summary_queue, session_id)
    assert await summary_queue.count("queued") == 3

    assert await delete_queue_keys(summary_queue) > 0
    assert await summary_queue.count("queued") == 0
    assert await summary_queue.count("incomplete") == 0

    workers.start(CODEVOICE_SUMMARY_STALE_AFTER_S="1")

    for session_id, tag in sessions:
        summary = await wait_for_summary(session_id, DONE, FAILED)
        assert summary.status == DONE, workers.logs()
        assert summary.attempts == 1
        assert len(llm_double.requests_for(tag)) == 1


async def test_same_session_enqueued_twice_gives_one_summary(
    workers: WorkerProcesses, summary_queue: Queue, llm_double: OpenAICompatibleLLMDouble
) -> None:
    session_id, tag = await create_interview()
    first = await request_summary(summary_queue, session_id)
    second = await request_summary(summary_queue, session_id)
    assert first.id == second.id
    assert await summary_queue.count("incomplete") == 1

    workers.start()
    done = await wait_for_summary(session_id, DONE, FAILED)
    assert done.status == DONE, workers.logs()
    assert done.attempts == 1
    assert len(llm_double.requests_for(tag)) == 1

    # Asking again for a done summary changes nothing and queues nothing.
    again = await request_summary(summary_queue, session_id)
    assert again.status == DONE
    assert again.updated_at == done.updated_at

    # Even a job that reaches the worker for a done summary (a stray duplicate) leaves it alone.
    # The row turns done a moment before SAQ marks the first job complete and frees its key, so wait
    # for that first: until then SAQ itself refuses the duplicate.
    job_key = summary_job_key(session_id)
    first_job = await summary_queue.job(job_key)
    assert first_job is not None
    await first_job.refresh(until_complete=30)
    assert first_job.status == Status.COMPLETE
    # SAQ also refuses the key while an abort marker for it lives: up to 5 s after its sweep raced the
    # first job's start (tobymao/saq#277). The duplicate gets in once the marker has expired.
    deadline = time.monotonic() + 15
    while not await push_summary_job(summary_queue, session_id):
        assert time.monotonic() < deadline, "SAQ kept refusing the stray duplicate"
        await asyncio.sleep(0.2)
    job = await summary_queue.job(job_key)
    assert job is not None
    await job.refresh(until_complete=30)
    assert job.status == Status.COMPLETE
    assert job.result == {"outcome": "skipped"}
    unchanged = await read_summary(session_id)
    assert unchanged is not None
    assert (unchanged.updated_at, unchanged.attempts, unchanged.scorecard) == (
        done.updated_at,
        done.attempts,
        done.scorecard,
    )
    assert len(llm_double.requests_for(tag)) == 1


async def test_worker_heartbeat_keeps_a_slow_job_from_being_swept(
    workers: WorkerProcesses, summary_queue: Queue, llm_double: OpenAICompatibleLLMDouble
) -> None:
    """A live job that runs longer than the heartbeat window is not mistaken for a dead one."""
    session_id, tag = await create_interview()

    # Two and a half heartbeat windows (CODEVOICE_SUMMARY_HEARTBEAT_S=3) and several sweeps, inside the
    # LLM timeout.
    llm_double.responder = lambda request: slowed(honest_answer(request), 7.5)
    workers.start(CODEVOICE_LLM_TIMEOUT_S="20")
    await request_summary(summary_queue, session_id)

    summary = await wait_for_summary(session_id, DONE, FAILED)
    assert summary.status == DONE, workers.logs()
    assert summary.attempts == 1
    assert len(llm_double.requests_for(tag)) == 1


async def test_job_picked_up_before_the_enqueuing_transaction_commits_still_completes(
    workers: WorkerProcesses, summary_queue: Queue, llm_double: OpenAICompatibleLLMDouble
) -> None:
    """The control plane enqueues inside its request transaction; a fast worker may see the job first."""
    session_id, tag = await create_interview()
    workers.start()
    while not (await summary_queue.info())["workers"]:
        await asyncio.sleep(0.1)

    async with get_alchemy_config().get_session() as db:
        await enqueue_summary(db, summary_queue, session_id)
        job = await summary_queue.job(summary_job_key(session_id))
        assert job is not None
        while job.status != Status.ACTIVE:
            await asyncio.sleep(0.02)
            await job.refresh()
        # A slow request: the worker is already looking for the row that is not committed yet.
        await asyncio.sleep(0.5)
        await db.commit()

    summary = await wait_for_summary(session_id, DONE, FAILED)
    assert summary.status == DONE, workers.logs()
    assert summary.attempts == 1
    assert len(llm_double.requests_for(tag)) == 1
    # The run waited for the row instead of failing and leaning on a retry.
    await job.refresh(until_complete=30)
    assert job.status == Status.COMPLETE
    assert job.attempts == 1
