"""Faults of a running interview, end to end over real WebRTC and the real livekit-server (the stack of
tests/agent/e2e_stack.py; its WebhookRecorder shows what the server really sends).

- The job process is SIGKILLed mid-interview: the finished turns are already in Postgres, and the session
  becomes `failed` with a reason. The worker process sees its job process exit abnormally and reports
  `fail` at once (agent.worker.report_dead_jobs); livekit-server only notices the dead peer by ICE
  timeouts, and its `participant_left` for the agent (CONNECTION_TIMEOUT) comes >10 s later and changes
  nothing. The `worker-only` case runs without webhooks, so the worker's report alone must do it.
- The worker dies with its job (the machine is gone): nobody reports, and the `participant_left` webhook
  for the agent is what fails the session.
- The room is deleted through the server API mid-interview: the job ends cleanly, the turns are stored,
  and the session is `completed` (the agent's own `complete`, and `room_finished`) with its summary
  queued (`pending`); every participant leaves with ROOM_DELETED, which is not read as a crash.
- The session was cancelled before the interviewer arrived, and the candidate joins with an earlier
  token: the agent does not interview; it closes the room, and the session stays `cancelled`.
- The agent is not in the room with its audio within CODEVOICE_AGENT_JOIN_TIMEOUT_S (here a timeout no
  join can meet): the job ends and the session becomes `failed` with the reason, instead of a candidate
  waiting for a silent interviewer.
- The candidate opens the interview in a second tab (same identity): the server drops the first
  connection with DUPLICATE_IDENTITY and the interview goes on with the second, which hears the open
  question again.
- The candidate drops out (leaves the room) and rejoins with the same identity two seconds later, with a
  fresh token from the token endpoint: the session stays `live`, the agent asks the open question again
  ("Welcome back. ..."), and the interview goes on from there.
- The candidate drops out and does not come back within the rejoin grace: no silence prompt is spoken
  to the empty room meanwhile (the room stays open: tokens give it a departure timeout past the grace),
  and then the session completes with end_reason `candidate_left`; a new token is refused.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from livekit import api
from livekit.protocol.models import DisconnectReason, ParticipantInfo

from agent.pipeline import SILENCE_PROMPT
from agent.worker import JOB_DIED_REASON
from control_plane.domain.webhooks.controllers import AGENT_LEFT_REASON
from tests.agent.audio import word_error_rate
from tests.agent.conftest import NewSession
from tests.agent.e2e_stack import InterviewStack, ReceivedWebhook, interview_stack, rejoin_grace
from tests.conftest import ADMIN_DSN, TEST_DB
from tests.support.netns import NetnsLiveKit, mint_token

pytestmark = [pytest.mark.netns, pytest.mark.slow]

ANSWER = "Yes, I am ready to begin the interview."
SECOND_ANSWER = "Yes, I am still here and ready to continue."
REJOIN_ANSWER = "I have built backend services in Python for six years."
DELETE_ROOM = Path(__file__).parent / "clients" / "delete_room.py"
ROOM_MEMBER = Path(__file__).parent / "clients" / "room_member.py"


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


async def wait_for_segments(
    stack: InterviewStack,
    session_id: uuid.UUID,
    headers: dict[str, str],
    done: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 120,
) -> list[dict[str, Any]]:
    """Poll the stored transcript until `done(segments)`."""
    segments: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and stack.worker.poll() is None:
        response = await stack.client.get(f"/sessions/{session_id}/transcript", headers=headers)
        segments = response.json()["segments"]
        if done(segments):
            return segments
        await asyncio.sleep(0.3)
    raise AssertionError(f"transcript never got there: {segments}\nworker log:\n{stack.log_tail()}")


def agent_spoke_after_candidate(count: int) -> Callable[[list[dict[str, Any]]], bool]:
    """The transcript holds `count` candidate turns and an agent turn after the last of them."""

    def done(segments: list[dict[str, Any]]) -> bool:
        candidate = [i for i, s in enumerate(segments) if s["speaker"] == "candidate"]
        return len(candidate) >= count and any(s["speaker"] == "agent" for s in segments[candidate[-1] :])

    return done


def agent_left(stack: InterviewStack, room_name: str) -> list[ReceivedWebhook]:
    assert stack.webhooks is not None
    return [
        r
        for r in stack.webhooks.events(room_name, "participant_left")
        if r.event.participant.kind == ParticipantInfo.Kind.AGENT
    ]


@pytest.mark.parametrize("webhooks", [True, False], ids=["with-webhooks", "worker-only"])
async def test_killed_job_keeps_its_turns_and_fails_the_session(
    new_session: NewSession, client: AsyncTestClient[Litestar], tmp_path: Path, webhooks: bool
) -> None:
    session_id, headers, token = await _interview_with_token(new_session, client)
    async with interview_stack(tmp_path, client, webhooks=webhooks) as stack:
        # The candidate stays in the room until the stack is torn down.
        stack.start_candidate(token, ANSWER, leave_signal=tmp_path / "leave", timeout_s=90)
        before = await stack.wait_for_candidate_turn(session_id, headers)
        job_pid = stack.job_pid()
        assert job_pid != stack.worker.pid
        os.kill(job_pid, signal.SIGKILL)
        killed_at = time.monotonic()

        failed = await stack.wait_for_status(session_id, headers, "failed")
        # The worker outlives its job and stays registered for the next interview.
        assert stack.worker.poll() is None
        room_name = str(failed["room_name"])
        await stack.wait_for_log("worker.job_process_died")
        # The worker sends what the dead job journaled but had not delivered, without waiting for a job.
        replayed = await stack.wait_for_log('"transcript.replayed"')
        replay_lines = [line for line in replayed.splitlines() if '"transcript.replayed"' in line]
        assert any(str(session_id) in line for line in replay_lines), replay_lines
        assert not list((tmp_path / "spool").glob(f"{session_id}*"))
        if webhooks:
            # livekit-server only notices a killed peer by ICE timeouts (10 s disconnected + 5 s failed,
            # then 5 s for a resume), so its participant_left comes well after the worker's report.
            for _ in range(600):
                if left := agent_left(stack, room_name):
                    break
                await asyncio.sleep(0.1)
            assert [r.event.participant.disconnect_reason for r in left] == [
                DisconnectReason.CONNECTION_TIMEOUT
            ]
            assert left[0].at - killed_at > 10.0
            for _ in range(50):  # the control plane got the same delivery
                if "participant_left" in webhook_events(room_name):
                    break
                await asyncio.sleep(0.1)
        else:
            await asyncio.sleep(2.0)  # let late reports land
        # Nothing may undo `failed` or change its reason.
        failed = await stack.wait_for_status(session_id, headers, "failed")

    # The worker reports the dead job at once; the webhook, much later, finds the session already failed.
    assert failed["failure_reason"] == JOB_DIED_REASON.format(code=-signal.SIGKILL), failed
    if webhooks:
        assert "participant_left" in webhook_events(room_name)
    else:
        # Without webhooks (livekit-server not configured for them), the worker's report alone does it.
        assert webhook_events(room_name) == []
    after = (await client.get(f"/sessions/{session_id}/transcript", headers=headers)).json()["segments"]
    assert after[: len(before)] == before
    assert [s["seq"] for s in after] == list(range(len(after)))
    assert after[0]["speaker"] == "agent"
    assert any(s["speaker"] == "candidate" and s["text"] for s in after)


async def test_a_dead_worker_machine_fails_the_session_through_the_agent_left_webhook(
    new_session: NewSession, client: AsyncTestClient[Litestar], tmp_path: Path
) -> None:
    """The worker and its job die together (the machine is gone), so nobody reports `fail`: livekit-server's
    participant_left for the agent (disconnect reason CONNECTION_TIMEOUT) is what fails the session."""
    session_id, headers, token = await _interview_with_token(new_session, client)
    async with interview_stack(tmp_path, client) as stack:
        stack.start_candidate(token, ANSWER, leave_signal=tmp_path / "leave", timeout_s=90)
        await stack.wait_for_candidate_turn(session_id, headers)
        room_name = str((await client.get(f"/sessions/{session_id}", headers=headers)).json()["room_name"])
        os.killpg(stack.worker.pid, signal.SIGKILL)  # the worker and every job process under it
        await asyncio.to_thread(stack.worker.wait, 10)
        assert (await client.get(f"/sessions/{session_id}", headers=headers)).json()["status"] == "live"
        failed = await stack.wait_for_status(session_id, headers, "failed", timeout=60)
        for _ in range(50):  # the recorder's copy of the same webhook is delivered separately
            if left := agent_left(stack, room_name):
                break
            await asyncio.sleep(0.1)

    assert failed["failure_reason"] == AGENT_LEFT_REASON, failed
    assert [r.event.participant.disconnect_reason for r in left] == [DisconnectReason.CONNECTION_TIMEOUT]
    assert "participant_left" in webhook_events(room_name)


async def test_deleted_room_ends_the_interview_cleanly_and_completes_the_session(
    new_session: NewSession, client: AsyncTestClient[Litestar], tmp_path: Path
) -> None:
    session_id, headers, token = await _interview_with_token(new_session, client)
    async with interview_stack(tmp_path, client) as stack:
        # The candidate stays in the room until the stack is torn down.
        stack.start_candidate(token, ANSWER, leave_signal=tmp_path / "leave", timeout_s=60)
        before = await stack.wait_for_candidate_turn(session_id, headers)
        room_name = str((await client.get(f"/sessions/{session_id}", headers=headers)).json()["room_name"])
        deleting_at = time.monotonic()
        deleted = await asyncio.to_thread(
            stack.lk.run_python, DELETE_ROOM, "--url", stack.lk.http_url, "--room", room_name, timeout=30
        )
        assert deleted.check().json == {"deleted": room_name}

        done = await stack.wait_for_status(session_id, headers, "completed")
        # Let the last webhooks (participant_left, room_finished) land; nothing may undo `completed`.
        assert stack.webhooks is not None
        await stack.webhooks.wait_for(room_name, "room_finished", timeout=20)
        for _ in range(50):
            if "room_finished" in webhook_events(room_name):
                break
            await asyncio.sleep(0.2)
        done = await stack.wait_for_status(session_id, headers, "completed")
        after_delete = [r for r in stack.webhooks.events(room_name) if r.at >= deleting_at]
        ended = [r for r in after_delete if r.event.event in ("participant_left", "room_finished")]
        # room_finished can complete the session while the job is still draining its pipeline.
        log = await stack.wait_for_log('"job.completed"')
        assert stack.worker.poll() is None

    assert done["failure_reason"] is None
    # DeleteRoom disconnects everyone at once: the agent may see the candidate go before its own
    # disconnect, and either way the job ends cleanly.
    assert '"reason": "room_closed"' in log or '"reason": "candidate_left"' in log, log[-6000:]
    assert "worker.job_process_died" not in log
    assert {"participant_left", "room_finished"} <= set(webhook_events(room_name))
    # What livekit-server sends for DeleteRoom: each participant leaves with ROOM_DELETED (which the
    # control plane must not read as the agent crashing), then room_finished, at once (no departure
    # timeout for a deleted room).
    assert [r.event.event for r in ended] == [
        "participant_left",
        "participant_left",
        "room_finished",
    ], [(r.event.event, r.event.participant.identity) for r in after_delete]
    left = {r.event.participant.kind: r.event.participant.disconnect_reason for r in ended[:2]}
    assert left == {
        ParticipantInfo.Kind.AGENT: DisconnectReason.ROOM_DELETED,
        ParticipantInfo.Kind.STANDARD: DisconnectReason.ROOM_DELETED,
    }
    assert ended[-1].at - ended[-2].at < 2.0
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


async def test_a_second_tab_with_the_same_identity_takes_over_the_interview(
    new_session: NewSession, client: AsyncTestClient[Litestar], tmp_path: Path
) -> None:
    """The candidate opens the interview again (a second tab, a reload) with a fresh token for the same
    identity while it runs: livekit-server disconnects the first connection with DUPLICATE_IDENTITY, and
    the interview goes on with the second one, which hears the open question again (the agent reads the
    swap as the candidate rejoining at once, not as leaving). A short rejoin grace ends it soon after the
    second tab leaves."""
    with rejoin_grace(5.0):
        await _second_tab_takes_over(new_session, client, tmp_path)


async def _second_tab_takes_over(
    new_session: NewSession, client: AsyncTestClient[Litestar], tmp_path: Path
) -> None:
    session_id, headers, token = await _interview_with_token(new_session, client)
    async with interview_stack(tmp_path, client) as stack:
        first_tab = stack.start_candidate(token, ANSWER, leave_signal=tmp_path / "leave", timeout_s=120)
        first_turns = await stack.wait_for_candidate_turn(session_id, headers)
        room_name = str((await client.get(f"/sessions/{session_id}", headers=headers)).json()["room_name"])
        again = await client.post("/livekit/token", json={"session_id": str(session_id)}, headers=headers)
        assert again.status_code == 201, again.text
        # It answers once it has heard the agent ask the open question again.
        second_tab = stack.start_candidate(
            again.json()["participant_token"], SECOND_ANSWER, leave_signal=tmp_path / "leave", timeout_s=120
        )
        first = (await asyncio.to_thread(stack.lk.wait, first_tab, 60)).check().json
        # The second tab's words become a turn of the same interview, and the agent answers it.
        count = sum(s["speaker"] == "candidate" for s in first_turns)
        segments: list[dict[str, object]] = []
        for _ in range(240):
            response = await client.get(f"/sessions/{session_id}/transcript", headers=headers)
            segments = response.json()["segments"]
            if sum(s["speaker"] == "candidate" for s in segments) > count:
                break
            await asyncio.sleep(0.5)
        (tmp_path / "leave").touch()
        second = (await asyncio.to_thread(stack.lk.wait, second_tab, 90)).check().json
        log = await stack.wait_for_log('"job.completed"', timeout=60)
        assert stack.webhooks is not None
        joined = stack.webhooks.events(room_name, "participant_joined")
        left = stack.webhooks.events(room_name, "participant_left")

    assert first == {"disconnect_reason": "DUPLICATE_IDENTITY"}
    assert second["greeting_loud_s"] > 2.0, second  # "Welcome back." and the open question
    assert second["reply_loud_s"] >= 1.0, second  # it heard the agent reply (rounded to 0.01 s)
    assert any(s["speaker"] == "agent" and str(s["text"]).startswith("Welcome back.") for s in segments)
    assert '"job.candidate_rejoined"' in log, log[-6000:]
    candidate_turns = [s["text"] for s in segments if s["speaker"] == "candidate"]
    assert len(candidate_turns) == count + 1, segments
    assert word_error_rate(SECOND_ANSWER, str(candidate_turns[-1])) <= 0.4, candidate_turns
    # The swap did not end the interview: it ended only when the second tab left.
    assert log.count('"job.candidate_left"') == 1, log[-6000:]
    assert '"reason": "candidate_left"' in log
    # What livekit-server reports for the swap: two sessions of one identity joined, and the first left
    # with DUPLICATE_IDENTITY.
    humans = [r.event.participant for r in joined if r.event.participant.kind != ParticipantInfo.Kind.AGENT]
    assert len({p.identity for p in humans}) == 1, humans
    assert len({p.sid for p in humans}) == 2, humans
    reasons = [
        r.event.participant.disconnect_reason
        for r in left
        if r.event.participant.kind != ParticipantInfo.Kind.AGENT
    ]
    assert reasons[0] == DisconnectReason.DUPLICATE_IDENTITY, reasons


async def test_what_an_agent_sees_when_a_candidate_reconnects_from_a_second_tab(tmp_path: Path) -> None:
    """The room events behind the agent's rejoin grace (agent.rejoin_grace), from the same
    rtc SDK the agent uses: when a second connection with the same identity joins, the SDK reports the old
    one leaving while the new one is not yet among the remote participants, and the new one right after."""
    with NetnsLiveKit(tmp_path / "livekit") as lk:
        room = f"swap-{uuid.uuid4().hex[:6]}"

        def member(identity: str, timeout_s: float, *extra: str) -> subprocess.Popen[str]:
            token = mint_token(lk, identity, room)
            return lk.popen_python(
                ROOM_MEMBER, "--url", lk.url, "--token", token, "--timeout", str(timeout_s), *extra
            )

        async with api.LiveKitAPI(lk.host_http_url, lk.api_key, lk.api_secret) as lkapi:

            async def wait_for_members(count: int) -> None:
                for _ in range(300):
                    listed = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
                    if sum(p.state == p.ACTIVE for p in listed.participants) >= count:
                        return
                    await asyncio.sleep(0.1)
                raise AssertionError(f"{count} members never joined:\n{lk.server_log()[-3000:]}")

            observer = member("interviewer-observer", 30)
            await wait_for_members(1)
            # Each tab publishes its microphone: livekit-server announces publishers at once (the joins of
            # participants that only subscribe are batched, and a batched join replaced by a newer session
            # of the same identity is never announced at all).
            first_tab = member("user-candidate", 60, "--publish")
            await wait_for_members(2)
            second_tab = member("user-candidate", 8, "--publish")
            first = (await asyncio.to_thread(lk.wait, first_tab, 30)).check().json
            second = (await asyncio.to_thread(lk.wait, second_tab, 30)).check().json
            seen = (await asyncio.to_thread(lk.wait, observer, 40)).check().json

    assert first["disconnect_reason"] == "DUPLICATE_IDENTITY"
    assert second["disconnect_reason"] is None  # it stayed until it left on its own
    events = [(e["event"], e["sid"]) for e in seen["events"]]
    assert events == [
        ("connected", first["sid"]),
        ("disconnected", first["sid"]),
        ("connected", second["sid"]),
        ("disconnected", second["sid"]),
    ], seen["events"]
    swapped_out, swapped_in = seen["events"][1], seen["events"][2]
    # At the old connection's departure the room holds no other candidate yet...
    assert swapped_out["present"] == [], swapped_out
    # ...and the new one follows at once: well within any grace the agent gives it.
    assert swapped_in["t"] - swapped_out["t"] < 1.0, (swapped_out, swapped_in)


async def test_a_candidate_who_rejoins_within_the_grace_resumes_the_interview(
    new_session: NewSession, client: AsyncTestClient[Litestar], tmp_path: Path
) -> None:
    """A page reload: the candidate leaves the room and comes back two seconds later with a fresh token for
    the same identity. The session stays live, the agent asks the question that was open again, and the
    interview goes on from there."""
    with rejoin_grace(60.0):
        session_id, headers, token = await _interview_with_token(new_session, client)
        async with interview_stack(tmp_path, client) as stack:
            first = stack.start_candidate(token, ANSWER, leave_signal=tmp_path / "leave-1", timeout_s=150)
            # Consent given, and the warm-up question asked in full: that question is open when they drop.
            before = await wait_for_segments(stack, session_id, headers, agent_spoke_after_candidate(1))
            (tmp_path / "leave-1").touch()
            left = (await asyncio.to_thread(stack.lk.wait, first, 60)).check().json
            await stack.wait_for_log('"job.candidate_away"')
            await asyncio.sleep(2.0)  # the page reloads
            away = (await client.get(f"/sessions/{session_id}", headers=headers)).json()
            again = await client.post("/livekit/token", json={"session_id": str(session_id)}, headers=headers)
            assert again.status_code == 201, again.text
            fresh_token = again.json()["participant_token"]
            second = stack.start_candidate(
                fresh_token, REJOIN_ANSWER, leave_signal=tmp_path / "leave-2", timeout_s=150
            )
            after = await wait_for_segments(stack, session_id, headers, agent_spoke_after_candidate(2))
            (tmp_path / "leave-2").touch()
            back = (await asyncio.to_thread(stack.lk.wait, second, 60)).check().json
            log = await stack.wait_for_log('"job.candidate_rejoined"')
            still = (await client.get(f"/sessions/{session_id}", headers=headers)).json()

    assert "greeting_loud_s" in left, left  # it left on its own, after hearing the warm-up question
    assert away["status"] == "live", away
    assert (still["status"], still["end_reason"]) == ("live", None), still
    assert '"job.candidate_left"' not in log
    # The transcript: ..., the open question, [the candidate away], "Welcome back." and the same question,
    # the rejoined candidate's answer, and the agent moving on.
    open_question = str(before[-1]["text"])
    assert before[-1]["speaker"] == "agent"
    new = after[len(before) :]
    assert [s["speaker"] for s in new[:2]] == ["agent", "candidate"], new
    welcome = str(new[0]["text"])
    assert welcome.startswith("Welcome back."), welcome
    # The question itself (the warm-up's, without the "Great, let's begin." that led into it).
    asked_again = welcome.removeprefix("Welcome back.").strip()
    assert asked_again, welcome
    assert open_question.strip().endswith(asked_again), (welcome, open_question)
    assert word_error_rate(REJOIN_ANSWER, str(new[1]["text"])) <= 0.4, new
    assert new[2]["speaker"] == "agent", new
    assert '"node": "question_1"' in log, log[-6000:]  # it went on to the first planned question
    assert [s["seq"] for s in after] == list(range(len(after)))
    # What the rejoined candidate heard: the question again, and the agent's reply to its answer.
    assert back["greeting_loud_s"] > 2.0, back
    assert back["reply_loud_s"] >= 1.0, back


async def test_a_candidate_who_does_not_come_back_in_time_ends_the_interview_as_candidate_left(
    new_session: NewSession, client: AsyncTestClient[Litestar], tmp_path: Path
) -> None:
    """The candidate leaves and stays away. Silence prompts (every 5 s here, wrap-up at 10 s) would have
    ended the interview as `silence` within the 15 s grace; they stay quiet in the empty room, and once the
    grace is over the session completes with end_reason `candidate_left`. The room outlives the grace
    (livekit-server's own departure timeout here is 5 s, the token's is the grace + 15 s)."""
    quick_silence = {"CODEVOICE_SILENCE_PROMPT_S": "5", "CODEVOICE_SILENCE_WRAP_UP_S": "10"}
    with rejoin_grace(15.0):
        session_id, headers, token = await _interview_with_token(new_session, client)
        async with interview_stack(tmp_path, client, worker_env=quick_silence) as stack:
            candidate = stack.start_candidate(token, ANSWER, leave_signal=tmp_path / "leave", timeout_s=150)
            before = await wait_for_segments(stack, session_id, headers, agent_spoke_after_candidate(1))
            (tmp_path / "leave").touch()
            (await asyncio.to_thread(stack.lk.wait, candidate, 60)).check()
            await stack.wait_for_log('"job.candidate_away"')
            away = (await client.get(f"/sessions/{session_id}", headers=headers)).json()
            done = await stack.wait_for_status(session_id, headers, "completed", timeout=90)
            log = await stack.wait_for_log('"job.completed"')
            body = {"session_id": str(session_id)}
            refused = await client.post("/livekit/token", json=body, headers=headers)
            stored = await client.get(f"/sessions/{session_id}/transcript", headers=headers)
            after = stored.json()["segments"]

    assert away["status"] == "live", away
    assert (done["end_reason"], done["failure_reason"]) == ("candidate_left", None), done
    assert '"reason": "candidate_left"' in log, log[-6000:]
    assert '"job.room_closed"' not in log, log[-6000:]
    assert refused.status_code == 409, refused.text
    # Nothing was said to the empty room: no silence prompt, no goodbye.
    assert after[: len(before)] == before
    assert not [s for s in after[len(before) :] if s["speaker"] == "agent"], after
    while_away = log[log.index('"job.candidate_away"') :]
    assert '"interview.silence"' not in while_away, while_away[-6000:]
    assert SILENCE_PROMPT not in [s["text"] for s in after[len(before) :]]
