"""The worker process (`python -m agent start`) against the real livekit-server, both inside a network
namespace (the stack of tests/agent/e2e_stack.py): explicit dispatch by name through AgentDispatchService
(called from this test process through the namespace's host port), a typed and logged error for bad
dispatch metadata (the metadata reaches the job byte for byte; the job ends cleanly and the worker keeps
serving), and a prompt exit on SIGTERM when no interview is running. No candidate joins, so no media
flows; tests/agent/test_e2e_webrtc.py covers the room."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from livekit import api
from livekit.protocol import agent_dispatch

from tests.agent.conftest import NewSession
from tests.agent.e2e_stack import InterviewStack, interview_stack

pytestmark = [pytest.mark.netns, pytest.mark.slow]


def logged(log_text: str, event: str) -> list[dict[str, object]]:
    """The worker's JSON log lines for `event`, in order."""
    found = []
    for line in log_text.splitlines():
        if line.startswith("{") and f'"{event}"' in line:
            parsed = json.loads(line)
            if parsed.get("event") == event:
                found.append(parsed)
    return found


async def wait_until_available(stack: InterviewStack, timeout: float = 30) -> None:
    """Until the worker's last status change it logged, if any, marked it available."""
    full, available = "marking as unavailable", "marking as available"
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        text = stack.log_tail(1_000_000)
        if text.rfind(full) <= text.rfind(available):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the worker stayed full:\n{stack.log_tail()}")


async def test_bad_dispatch_metadata_ends_the_job_cleanly_and_sigterm_stops_an_idle_worker(
    tmp_path: Path, new_session: NewSession, client: AsyncTestClient[Litestar]
) -> None:
    agent_name = f"codevoice-interviewer-{uuid.uuid4().hex[:6]}"
    # A session the job can still identify although the rest of its description is unusable.
    created = await new_session()
    identifiable = json.dumps({"session_id": str(created.session.session_id), "seniority": "wizard"})
    bad = ('{"session_id": "not-a-uuid"}', "this is not json", identifiable)
    rooms = [f"bad-{uuid.uuid4().hex[:6]}" for _ in bad]
    worker_env = {"CODEVOICE_AGENT_NAME": agent_name}
    async with interview_stack(tmp_path, client, webhooks=False, worker_env=worker_env) as stack:
        assert agent_name in stack.log_tail(200_000)
        lk = stack.lk
        async with api.LiveKitAPI(lk.host_http_url, lk.api_key, lk.api_secret) as lkapi:
            for number, (room, metadata) in enumerate(zip(rooms, bad, strict=True), start=1):
                # livekit-server drops a dispatch while the worker reports itself full, and livekit-agents
                # reports full while a job waits for a cold job process; so wait for a warm process and
                # for the server to have been told the worker is available.
                await stack.wait_for_log_count("process initialized", number, timeout=90)
                await wait_until_available(stack)
                dispatch = await lkapi.agent_dispatch.create_dispatch(
                    agent_dispatch.CreateAgentDispatchRequest(
                        agent_name=agent_name, room=room, metadata=metadata
                    )
                )
                assert (dispatch.agent_name, dispatch.room, dispatch.metadata) == (agent_name, room, metadata)
                await stack.wait_for_log_count("job.invalid_metadata", number, timeout=90)
                await stack.wait_for_log_count("invalid dispatch metadata", number, timeout=30)
        stack.worker.send_signal(signal.SIGTERM)
        exit_code = await asyncio.to_thread(stack.worker.wait, 60)
        text = stack.log_tail(1_000_000)

    assert exit_code == 0, text[-6000:]
    assert "draining worker" in text
    # Each dispatch became a job in its own room, with its metadata exactly as dispatched.
    invalid = logged(text, "job.invalid_metadata")
    assert [(e["room"], e["metadata"]) for e in invalid] == list(zip(rooms, bad, strict=True)), invalid
    assert "Expected `str` of length" in text or "not JSON" in text or "Invalid" in text
    # The identifiable session is failed with the reason, so its candidate is not left waiting.
    stored = (
        await client.get(f"/sessions/{created.session.session_id}", headers=created.owner_headers)
    ).json()
    assert stored["status"] == "failed", stored
    assert stored["failure_reason"].startswith("Invalid interview description:"), stored
    assert "seniority" in stored["failure_reason"], stored
