"""Summary queue throughput: 1,000 jobs through real worker processes, with an instant LLM double.

A scratch database and a queue of its own; the OpenAI-compatible LLM double (tests/summaries/llm_double.py)
answers at once, so the numbers are the queue, the worker and Postgres, not a model. For 1 and then 2
worker processes (each CODEVOICE_WORKER_CONCURRENCY jobs at a time), 1,000 summaries are enqueued the way
the control plane does it (`enqueue_summary`, then commit) and the run ends when all are done. Printed:
enqueue-to-start p50/p95 (summary row `enqueued_at` -> `started_at`) and jobs/s (first enqueue -> last done).

    .venv/bin/python bench/summary_throughput.py [--jobs 1000] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
RUN_ID = uuid.uuid4().hex[:8]
DB_NAME = f"cv_bench_summaries_{RUN_ID}"
DB_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"

os.environ.update(
    {
        "CODEVOICE_ENV": "dev",
        "DATABASE_URL": DB_URL,
        "CODEVOICE_REDIS_PREFIX": f"cvbench-{RUN_ID}",
        "CODEVOICE_LOG_LEVEL": "WARNING",
        "CODEVOICE_LOG_JSON": "1",
    }
)
for name in ("OPENAI_API_KEY", "CODEVOICE_LLM_BASE_URL"):
    os.environ.pop(name, None)

from saq import Queue  # noqa: E402
from sqlalchemy import delete, func, insert, select  # noqa: E402

from control_plane import log  # noqa: E402
from control_plane.db import models as m  # noqa: E402
from control_plane.domain.summaries.queue import enqueue_summary  # noqa: E402
from control_plane.lib.db import get_alchemy_config  # noqa: E402
from control_plane.settings import get_settings  # noqa: E402
from tests.summaries.interviews import INTERVIEW  # noqa: E402
from tests.summaries.llm_double import OpenAICompatibleLLMDouble, honest_answer  # noqa: E402


def admin(sql: str) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def migrate() -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", DB_URL)
    command.upgrade(config, "head")


async def create_sessions(count: int) -> list[uuid.UUID]:
    async with get_alchemy_config().get_session() as db, db.begin():
        owner = m.User(email=f"bench-{RUN_ID}@example.com", display_name="Bench", password_hash="x")
        db.add(owner)
        await db.flush()
        ids = [uuid.uuid4() for _ in range(count)]
        await db.execute(
            insert(m.InterviewSession),
            [
                {
                    "id": session_id,
                    "owner_id": owner.id,
                    "role_title": "Backend Engineer",
                    "seniority": "senior",
                    "topics": ["python", "databases"],
                    "planned_duration_minutes": 20,
                    "room_name": f"bench-{session_id.hex}",
                    "status": "completed",
                }
                for session_id in ids
            ],
        )
        await db.execute(
            insert(m.TranscriptSegment),
            [
                {
                    "session_id": session_id,
                    "seq": seq,
                    "speaker": speaker,
                    "text": text,
                    "start_ms": seq * 10_000,
                    "end_ms": seq * 10_000 + 9_000,
                }
                for session_id in ids
                for seq, (speaker, text) in enumerate(INTERVIEW)
            ],
        )
    return ids


async def wait_for_workers(queue: Queue, count: int) -> None:
    deadline = time.monotonic() + 120
    while len((await queue.info())["workers"]) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not register")
        await asyncio.sleep(0.2)


async def run_once(session_ids: list[uuid.UUID], workers: int, llm_url: str) -> dict[str, float]:
    queue_name = f"bench-{RUN_ID}-{workers}w"
    settings = get_settings()
    env = {**os.environ, "CODEVOICE_QUEUE": queue_name, "CODEVOICE_LLM_BASE_URL": llm_url}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "control_plane.worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    queue = Queue.from_url(settings.redis.url, name=settings.redis.key(queue_name))
    await queue.connect()
    try:
        await wait_for_workers(queue, workers)
        async with get_alchemy_config().get_session() as db, db.begin():
            await db.execute(delete(m.Summary))
        for session_id in session_ids:
            async with get_alchemy_config().get_session() as db:
                await enqueue_summary(db, queue, session_id)
                await db.commit()
        while True:
            async with get_alchemy_config().get_session() as db:
                done = await db.scalar(select(func.count()).where(m.Summary.status == "done"))
                failed = await db.scalar(select(func.count()).where(m.Summary.status == "failed"))
            if failed:
                raise RuntimeError(f"{failed} summaries failed")
            if done == len(session_ids):
                break
            await asyncio.sleep(0.5)
        async with get_alchemy_config().get_session() as db:
            rows = (
                await db.execute(select(m.Summary.enqueued_at, m.Summary.started_at, m.Summary.finished_at))
            ).all()
        waits = sorted((started - enqueued).total_seconds() * 1000 for enqueued, started, _ in rows)
        span = (max(r.finished_at for r in rows) - min(r.enqueued_at for r in rows)).total_seconds()
        return {
            "p50_ms": statistics.median(waits),
            "p95_ms": waits[int(0.95 * (len(waits) - 1))],
            "jobs_per_s": len(rows) / span,
        }
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        redis = queue.redis  # type: ignore[attr-defined]
        keys = [key async for key in redis.scan_iter(match=f"saq*{queue.name}*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await queue.disconnect()


async def main(jobs: int, worker_counts: list[int]) -> None:
    log.configure(get_settings().log)
    double = OpenAICompatibleLLMDouble(responder=honest_answer)
    llm_url = await double.start()
    try:
        session_ids = await create_sessions(jobs)
        concurrency = get_settings().worker.concurrency
        print(f"{jobs} summary jobs, instant LLM double, {concurrency} concurrent jobs per worker process")
        for workers in worker_counts:
            result = await run_once(session_ids, workers, llm_url)
            print(
                f"{workers} worker process(es): enqueue-to-start p50 {result['p50_ms']:.0f} ms, "
                f"p95 {result['p95_ms']:.0f} ms; {result['jobs_per_s']:.1f} jobs/s"
            )
    finally:
        await double.stop()
        await get_alchemy_config().get_engine().dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    admin(f'CREATE DATABASE "{DB_NAME}"')
    try:
        migrate()
        asyncio.run(main(args.jobs, args.workers))
    finally:
        admin(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
