"""Summary fixtures: real worker processes (`python -m control_plane.worker`) on a queue of the test's own,
real Postgres and Redis, and the OpenAI-compatible LLM double on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from saq import Queue

from control_plane.settings import get_settings
from tests.conftest import TEST_ENV
from tests.summaries.llm_double import OpenAICompatibleLLMDouble, honest_answer

REPO_ROOT = Path(__file__).resolve().parents[2]

# Short clocks so retries, heartbeats and sweeps happen within a test. Jobs take these from the process
# that enqueues them, so the test process and the workers both get them.
FAST_SUMMARY_ENV = {
    "CODEVOICE_SUMMARY_HEARTBEAT_S": "3",
    "CODEVOICE_QUEUE_SWEEP_S": "1",
    "CODEVOICE_SUMMARY_RETRY_DELAY_S": "0.2",
    "CODEVOICE_SUMMARY_RETRY_MAX_S": "0.5",
    "CODEVOICE_SUMMARY_TIMEOUT_S": "30",
    "CODEVOICE_SUMMARY_ATTEMPTS": "3",
    "CODEVOICE_LLM_TIMEOUT_S": "10",
    "CODEVOICE_SUMMARY_RECONCILE_CRON": "* * * * * *",
    # SAQ's sweep can abort a job in the instant between its dequeue and its start (tobymao/saq#277),
    # leaving it in no list; the reconciler is what recovers such a job, so it must act within a test.
    "CODEVOICE_SUMMARY_STALE_AFTER_S": "10",
    # Stop at once at teardown; a job cut short would be re-queued, and its queue is deleted anyway.
    "CODEVOICE_WORKER_SHUTDOWN_GRACE_S": "0",
}


@pytest.fixture(autouse=True)
def fast_summary_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in FAST_SUMMARY_ENV.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    # monkeypatch restores the environment after this; the next get_settings() reads it afresh.
    get_settings.cache_clear()


@pytest.fixture
async def llm_double() -> AsyncIterator[OpenAICompatibleLLMDouble]:
    double = OpenAICompatibleLLMDouble(responder=honest_answer)
    await double.start()
    yield double
    await double.stop()


@dataclass
class WorkerProcesses:
    """Summary worker processes, each started with the test's environment and stopped at teardown."""

    base_env: dict[str, str]
    log_dir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, **overrides: str) -> subprocess.Popen[bytes]:
        env = {**self.base_env, **overrides, "PYTHONUNBUFFERED": "1"}
        log_path = self.log_dir / f"worker-{len(self.processes)}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "control_plane.worker"],
                cwd=REPO_ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    @staticmethod
    def kill(process: subprocess.Popen[bytes]) -> None:
        """SIGKILL: no shutdown hook, no cleanup, exactly like a crashed host."""
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("worker-*.log")))


@pytest.fixture
def queue_name() -> str:
    """A queue of this test's own (inside the run's prefix), so no job outlives its test."""
    return f"{TEST_ENV['CODEVOICE_QUEUE']}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def workers(
    database_url: str, llm_double: OpenAICompatibleLLMDouble, queue_name: str, tmp_path: Path
) -> Iterator[WorkerProcesses]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CODEVOICE_QUEUE": queue_name,
        "CODEVOICE_LLM_BASE_URL": llm_double.base_url,
        "CODEVOICE_LLM_MODEL": "double-model",
        "CODEVOICE_LOG_LEVEL": "INFO",
    }
    processes = WorkerProcesses(base_env=env, log_dir=tmp_path)
    yield processes
    processes.stop_all()


@pytest.fixture
async def summary_queue(queue_name: str) -> AsyncIterator[Queue]:
    settings = get_settings()
    queue = Queue.from_url(settings.redis.url, name=settings.redis.key(queue_name))
    await queue.connect()
    yield queue
    await delete_queue_keys(queue)
    await queue.disconnect()


async def delete_queue_keys(queue: Queue) -> int:
    """What a Redis restart without persistence does to us: every key of this queue is gone. Only this
    queue's keys, since other test runs share the server."""
    redis = queue.redis  # type: ignore[attr-defined]
    deleted = 0
    for pattern in (f"saq:{queue.name}:*", f"saq:job:{queue.name}:*"):
        keys = [key async for key in redis.scan_iter(match=pattern, count=1000)]
        if keys:
            deleted += await redis.delete(*keys)
    return deleted
