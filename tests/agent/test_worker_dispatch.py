"""The worker process (`python -m agent start`) against the local LiveKit-protocol server: explicit
dispatch by name, a typed and logged error for bad dispatch metadata (the job ends cleanly and the
worker keeps serving), and a prompt exit on SIGTERM when no interview is running. No media flows, so
this runs on loopback in the host namespace; tests/agent/test_e2e_webrtc.py covers the room."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from livekit import api
from livekit.protocol import agent_dispatch

from local_livekit.contracts import ApiKeys, ServerConfig
from local_livekit.server import ServerHandle, start_server
from tests.agent.conftest import LoopbackControlPlane, NewSession

pytestmark = pytest.mark.slow

KEY, SECRET = "agentkey", "agent-test-secret-0123456789abcdef0123"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def server() -> AsyncIterator[ServerHandle]:
    handle = await start_server(ServerConfig(port=0, keys=ApiKeys({KEY: SECRET})))
    yield handle
    await handle.close()


async def wait_for_log(
    path: Path, text: str, process: subprocess.Popen[bytes], timeout: float, count: int = 1
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text(errors="replace").count(text) >= count:
            return
        if process.poll() is not None:
            break
        await asyncio.sleep(0.2)
    raise AssertionError(
        f"worker never logged {text!r} x{count}:\n{path.read_text(errors='replace')[-6000:]}"
    )


async def test_bad_dispatch_metadata_ends_the_job_cleanly_and_sigterm_stops_an_idle_worker(
    server: ServerHandle,
    tmp_path: Path,
    control_plane: LoopbackControlPlane,
    new_session: NewSession,
    client: AsyncTestClient[Litestar],
) -> None:
    agent_name = f"codevoice-interviewer-{uuid.uuid4().hex[:6]}"
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "LIVEKIT_URL": server.url,
        "LIVEKIT_API_KEY": KEY,
        "LIVEKIT_API_SECRET": SECRET,
        "CODEVOICE_AGENT_NAME": agent_name,
        "CODEVOICE_LOG_LEVEL": "INFO",
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "CODEVOICE_TRANSCRIPT_SPOOL_DIR": str(tmp_path / "spool"),
        "CODEVOICE_CONTROL_PLANE_URL": control_plane.base_url,
    }
    # A session the job can still identify although the rest of its description is unusable.
    created = await new_session()
    identifiable = json.dumps({"session_id": str(created.session.session_id), "seniority": "wizard"})
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "agent", "start"],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        await wait_for_log(log_path, "registered worker", worker, 120)
        assert agent_name in log_path.read_text()
        async with api.LiveKitAPI(server.http_url, KEY, SECRET) as lkapi:
            bad = ('{"session_id": "not-a-uuid"}', "this is not json", identifiable)
            for number, metadata in enumerate(bad, start=1):
                await lkapi.agent_dispatch.create_dispatch(
                    agent_dispatch.CreateAgentDispatchRequest(
                        agent_name=agent_name, room=f"bad-{uuid.uuid4().hex[:6]}", metadata=metadata
                    )
                )
                await wait_for_log(log_path, "job.invalid_metadata", worker, 90, count=number)
                await wait_for_log(log_path, "invalid dispatch metadata", worker, 30, count=number)
        worker.send_signal(signal.SIGTERM)
        exit_code = await asyncio.to_thread(worker.wait, 60)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
    text = log_path.read_text(errors="replace")
    assert exit_code == 0, text[-6000:]
    assert "draining worker" in text
    assert "Expected `str` of length" in text or "not JSON" in text or "Invalid" in text
    # The identifiable session is failed with the reason, so its candidate is not left waiting.
    stored = (
        await client.get(f"/sessions/{created.session.session_id}", headers=created.owner_headers)
    ).json()
    assert stored["status"] == "failed", stored
    assert stored["failure_reason"].startswith("Invalid interview description:"), stored
    assert "seniority" in stored["failure_reason"], stored
