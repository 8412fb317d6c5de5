"""livekit-agents is told that the job joined its room, although Pipecat's transport (not
`JobContext.connect()`) joins it: a job that runs past livekit-agents' 10-second check logs no "room
connection was not established" warning (agent/job_context.py). Real worker, livekit-server and candidate
in a network namespace (tests/agent/e2e_stack.py)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.agent.conftest import NewSession
from tests.agent.e2e_stack import interview_stack

pytestmark = [pytest.mark.netns, pytest.mark.slow]

NOT_CONNECTED = "The room connection was not established"
# livekit-agents 1.8.6 checks once, this long after the job's entrypoint started.
LIVEKIT_AGENTS_CHECK_S = 10.0


def event_times(log_text: str, event: str) -> list[datetime]:
    times = []
    for line in log_text.splitlines():
        if line.startswith("{") and f'"{event}"' in line:
            parsed = json.loads(line)
            if parsed.get("event") == event:
                times.append(datetime.fromisoformat(str(parsed["timestamp"])))
    return times


async def test_a_job_in_its_room_past_ten_seconds_logs_no_connection_warning(
    new_session: NewSession, client: AsyncTestClient[Litestar], tmp_path: Path
) -> None:
    created = await new_session(duration_minutes=20)
    session_id = created.session.session_id
    token = await client.post(
        "/livekit/token", json={"session_id": str(session_id)}, headers=created.owner_headers
    )
    assert token.status_code == 201, token.text
    leave_signal = tmp_path / "leave"
    async with interview_stack(tmp_path, client, webhooks=False) as stack:
        stack.start_candidate(
            token.json()["participant_token"], "Yes, I am ready to begin.", leave_signal=leave_signal
        )
        # The greeting, the candidate's answer and its transcription take well over ten seconds.
        await stack.wait_for_candidate_turn(session_id, created.owner_headers, timeout=180)
        await stack.wait_for_log('"interview.turn_latency"', timeout=60)
        log_text = stack.log_tail(2_000_000)
        leave_signal.touch()

    joined = event_times(log_text, "job.joined_room")
    assert len(joined) == 1, log_text[-4000:]
    later = [t for t in event_times(log_text, "interview.turn_latency") if t > joined[0]]
    # The test means something only if the job outlived livekit-agents' check.
    assert later, log_text[-4000:]
    assert (later[-1] - joined[0]).total_seconds() > LIVEKIT_AGENTS_CHECK_S
    assert NOT_CONNECTED not in log_text
