"""Faults of a running interview, end to end over real WebRTC (the stack of tests/agent/e2e_stack.py).

- The job process is SIGKILLed mid-interview: the finished turns are already in Postgres, and the session
  becomes `failed` with a reason. Two real paths report it: local LiveKit's `participant_left` webhook for
  the agent (the control plane fails a live session whose agent left), and the worker process, which sees
  its job process exit abnormally and reports `fail` (agent.worker.report_dead_jobs); the `worker-only`
  case runs without webhooks, so the worker's report alone must do it.
- The room is deleted through the server API mid-interview: the job ends cleanly, the turns are stored,
  and the session is `completed` (the agent's own `complete`, and `room_finished`) with its summary
  queued (`pending`); the agent's departure because the room was deleted is not read as a crash.
- The session was cancelled before the interviewer arrived, and the candidate joins with an earlier
  token: the agent does not interview; it closes the room, and the session stays `cancelled`.
- The agent is not in the room with its audio within CODEVOICE_AGENT_JOIN_TIMEOUT_S (here a timeout no
  join can meet): the job ends and the session becomes `failed` with the reason, instead of a candidate
  waiting for a silent interviewer.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from pathlib import Path

import psycopg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from agent.worker import JOB_DIED_REASON
from control_plane.domain.webhooks.controllers import AGENT_LEFT_REASON
from tests.agent.conftest import NewSession
from tests.agent.e2e_stack import interview_stack
from tests.conftest import ADMIN_DSN, TEST_DB

pytestmark = [pytest.mark.netns, pytest.mark.slow]

ANSWER = "Yes, I am ready to begin the interview."
DELETE_ROOM = Path(__file__).parent / "clients" / "delete_room.py"


def webhook_events(room_name: str) -> list[str]:
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + f"/{TEST_DB}"
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT event_type FROM webhook_events WHERE room_name = %s ORDER BY received_at", (room_name,)
        ).fetchall()
    return [str(r[0]) for r in rows]


async def _interview_with_token(
    new_session: NewSession, client: AsyncTestClient[Litestar]
) -> tuple[uuid.UUID, dict[str, str], str]:
    """A 20-minute session and the candidate's room token for it, as the control plane issues them."""
    created = await new_session(duration_minutes=20)
    session_id, headers = created.session.session_id, created.owner_headers
    response = await client.post("/livekit/token", json={"session_id": str(session_id)}, headers=headers)
    assert response.status_code == 201, response.text
    return session_id, headers, str(response.json()["participant_token"])


@pytest.mark.parametrize("webhooks", [True, False], ids=["with-webhooks", "worker-only"])
async def test_killed_job_keeps_its_turns_and_fails_the_session(
    new_session: NewSession, client: AsyncTestClient[Litestar], tmp_path: Path, webhooks: bool
) -> None:
    session_id, headers, token = await _interview_with_token(new_session, client)
    async with interview_stack(tmp_path, client, webhooks=webhooks) as stack:
        # The candidate stays in the room until the stack is torn down.
        stack.start_candidate(token, ANSWER, leave_signal=tmp_path / "leave", timeout_s=60)
        before = await stack.wait_for_candidate_turn(session_id, headers)
        job_pid = stack.job_pid()
        assert job_pid != stack.worker.pid
        os.kill(job_pid, signal.SIGKILL)

        failed = await stack.wait_for_status(session_id, headers, "failed")
        # The worker outlives its job and stays registered for the next interview.
        assert stack.worker.poll() is None
        await asyncio.sleep(2.0)  # let late webhooks and reports land: nothing may undo `failed`
        await stack.wait_for_status(session_id, headers, "failed")
        room_name = str(failed["room_name"])
        await stack.wait_for_log("worker.job_process_died")
        # The worker sends what the dead job journaled but had not delivered, without waiting for a job.
        replayed = await stack.wait_for_log('"transcript.replayed"')
        replay_lines = [line for line in replayed.splitlines() if '"transcript.replayed"' in line]
        assert any(str(session_id) in line for line in replay_lines), replay_lines
        assert not list((tmp_path / "spool").glob(f"{session_id}*"))

    job_died = JOB_DIED_REASON.format(code=-signal.SIGKILL)
    if webhooks:
        # Whichever report lands first sets the reason; the agent-left webhook reached the control plane.
        assert failed["failure_reason"] in (AGENT_LEFT_REASON, job_died), failed
        assert "participant_left" in webhook_events(room_name)
    else:
        # Without webhooks (livekit-server not configured for them), the worker's report alone does it.
        assert failed["failure_reason"] == job_died, failed
        assert webhook_events(room_name) == []
    after = (await client.get(f"/sessions/{session_id}/transcript", headers=headers)).json()["segments"]
    assert after[: len(before)] == before
    assert [s["seq"] for s in after] == list(range(len(after)))
    assert after[0]["speaker"] == "agent"
    assert any(s["speaker"] == "candidate" and s["text"] for s in after)


async def test_deleted_room_ends_the_interview_cleanly_and_completes_the_session(
    new_session: NewSession, client: AsyncTestClient[Litestar], tmp_path: Path
) -> None:
    session_id, headers, token = await _interview_with_token(new_session, client)
    async with interview_stack(tmp_path, client) as stack:
        # The candidate stays in the room until the stack is torn down.
        stack.start_candidate(token, ANSWER, leave_signal=tmp_path / "leave", timeout_s=60)
        before = await stack.wait_for_candidate_turn(session_id, headers)
        room_name = str((await client.get(f"/sessions/{session_id}", headers=headers)).json()["room_name"])
        deleted = await asyncio.to_thread(
            stack.lk.run_python, DELETE_ROOM, "--url", stack.lk.http_url, "--room", room_name, timeout=30
        )
        assert deleted.check().json == {"deleted": room_name}

        done = await stack.wait_for_status(session_id, headers, "completed")
        # Let the last webhooks (participant_left, room_finished) land; nothing may undo `completed`.
        for _ in range(50):
            if "room_finished" in webhook_events(room_name):
                break
            await asyncio.sleep(0.2)
        done = await stack.wait_for_status(session_id, headers, "completed")
        # room_finished can complete the session while the job is still draining its pipeline.
        log = await stack.wait_for_log('"job.completed"')
        assert stack.worker.poll() is None

    assert done["failure_reason"] is None
    # DeleteRoom disconnects everyone at once: the agent may see the candidate go before its own
    # disconnect, and either way the job ends cleanly.
    assert '"reason": "room_closed"' in log or '"reason": "candidate_left"' in log, log[-6000:]
    assert "worker.job_process_died" not in log
    assert {"participant_left", "room_finished"} <= set(webhook_events(room_name))
    after = (await client.get(f"/sessions/{session_id}/transcript", headers=headers)).json()["segments"]
    assert after[: len(before)] == before
    assert [s["seq"] for s in after] == list(range(len(after)))
    summary = (await client.get(f"/sessions/{session_id}/summary", headers=headers)).json()
    assert summary["status"] == "pending", summary


async def test_a_session_cancelled_before_the_interviewer_arrives_is_not_interviewed(
    new_session: NewSession, client: AsyncTestClient[Litestar], tmp_path: Path
) -> None:
    """The candidate still holds a token from before the cancel: the agent is dispatched, learns from
    the control plane that the session is final, and closes the room instead of interviewing."""
    session_id, headers, token = await _interview_with_token(new_session, client)
    cancelled = await client.post(f"/sessions/{session_id}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    room_name = str(cancelled.json()["room_name"])
    async with interview_stack(tmp_path, client) as stack:
        stack.start_candidate(token, ANSWER, leave_signal=tmp_path / "leave", timeout_s=60)
        log = await stack.wait_for_log('"job.completed"', timeout=120)
        # The candidate is still in the room, so only its deletion can finish it.
        for _ in range(100):
            if "room_finished" in webhook_events(room_name):
                break
            await asyncio.sleep(0.2)
        assert stack.worker.poll() is None

    assert '"job.session_already_final"' in log, log[-6000:]
    assert '"reason": "session_closed"' in log, log[-6000:]
    assert "room_finished" in webhook_events(room_name)
    stored = (await client.get(f"/sessions/{session_id}", headers=headers)).json()
    assert (stored["status"], stored["failure_reason"]) == ("cancelled", None)


async def test_an_agent_that_cannot_join_in_time_fails_the_session(
    new_session: NewSession, client: AsyncTestClient[Litestar], tmp_path: Path
) -> None:
    session_id, headers, token = await _interview_with_token(new_session, client)
    never_in_time = {"CODEVOICE_AGENT_JOIN_TIMEOUT_S": "0.001"}
    async with interview_stack(tmp_path, client, webhooks=False, worker_env=never_in_time) as stack:
        stack.start_candidate(token, ANSWER, leave_signal=tmp_path / "leave", timeout_s=60)
        body = await stack.wait_for_status(session_id, headers, "failed", timeout=120)
        log_text = stack.log_tail(60000)
    assert body["failure_reason"] == (
        "RoomJoinError: the interviewer could not join the room with its audio within 0.001 s"
    )
    assert '"job.join_failed"' in log_text
