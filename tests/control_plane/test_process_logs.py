"""What the control plane's processes write when they start and stop: every line of the summary worker is
structlog JSON (SAQ's, the reconcile cron's and ours), and stopping the API or the worker logs no
HeartbeatManager crash (litestar-saq's unused heartbeat thread is not started; control_plane/lib/saq.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import TEST_ENV
from tests.control_plane.processes import serving

HEARTBEAT_CRASH = ("HeartbeatManager", "Event loop stopped before Future completed")


def non_json_lines(output: str) -> list[str]:
    bad = []
    for line in output.splitlines():
        if not line.strip():
            continue
        try:
            parsed = json.loads(line)
        except ValueError:
            bad.append(line)
            continue
        if not isinstance(parsed, dict) or "event" not in parsed or "level" not in parsed:
            bad.append(line)
    return bad


class Output:
    """A process's stdout+stderr, read as it comes, so the test can wait for a line instead of a time."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        assert process.stdout is not None
        self._reader = threading.Thread(target=self.lines.extend, args=(process.stdout,), daemon=True)
        self._reader.start()

    def wait_for(self, text: str, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while sum(text in line for line in self.lines) < count:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"never saw {count} x {text!r}:\n{''.join(self.lines)[-4000:]}")
            time.sleep(0.1)

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        self._reader.join(timeout=15)
        return "".join(self.lines)


def test_every_line_the_summary_worker_writes_is_json(database_url: str) -> None:
    env = {
        **os.environ,
        **TEST_ENV,
        "DATABASE_URL": database_url,
        "CODEVOICE_LOG_LEVEL": "INFO",
        # The reconcile cron every second (SAQ's cron takes a sixth, seconds, field), so a short run sees it.
        "CODEVOICE_SUMMARY_RECONCILE_CRON": "* * * * * *",
    }
    worker = Output(
        subprocess.Popen(
            [sys.executable, "-m", "control_plane.worker"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    )
    try:
        worker.wait_for("Finished Job<function: reconcile_summaries", 2, timeout=120)
    finally:
        output = worker.stop()
    assert worker.process.returncode == 0, output[-4000:]
    assert non_json_lines(output) == []
    events = [json.loads(line)["event"] for line in output.splitlines() if line.strip()]
    # SAQ's line from before the worker's startup hook ran is rendered too, not dropped or printed raw.
    assert any(e.startswith("Worker starting") for e in events), events[:5]
    assert "summary_worker_started" in events
    assert "summary_worker_stopped" in events
    assert not any(marker in output for marker in HEARTBEAT_CRASH)


def test_stopping_the_api_process_logs_no_heartbeat_crash() -> None:
    with serving({}) as (base, served):
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
    output = served.stop()
    assert "Application shutdown complete" in output, output[-4000:]
    assert not any(marker in output for marker in HEARTBEAT_CRASH), output[-4000:]
    assert non_json_lines(output) == []


async def test_the_app_runs_no_heartbeat_thread(app: Litestar) -> None:
    async with AsyncTestClient(app) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert "heartbeat-manager" not in {t.name for t in threading.enumerate()}
