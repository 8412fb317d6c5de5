"""End to end over real WebRTC, inside a network namespace this test creates.

The real livekit-server, the interviewer worker (`python -m agent start`) and a candidate (real rtc SDK)
run in the namespace; the control plane runs in this test process with its real Postgres, reachable from
the namespace through a Unix socket, and livekit-server posts its webhooks to it on the namespace's
loopback (the shared stack is tests/agent/e2e_stack.py). The candidate joins with the token the control
plane issues (which dispatches `codevoice-interviewer`), hears a spoken greeting, answers with espeak
speech, and its words reach the stored transcript. SIGTERM then drains the worker: the running interview
finishes first (it ends when the candidate has left and not come back within the rejoin grace, short here).
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from livekit.protocol.models import DisconnectReason, ParticipantInfo

from control_plane.domain.rooms.tokens import room_departure_timeout_s
from tests.agent.audio import word_error_rate
from tests.agent.conftest import NewSession
from tests.agent.e2e_stack import interview_stack, rejoin_grace

pytestmark = [pytest.mark.netns, pytest.mark.slow]

ANSWER = "Yes, I am ready to begin the interview."
PARTICIPANT_KIND_AGENT = 4
REJOIN_GRACE_S = 2.0


async def test_candidate_hears_the_agent_and_their_words_reach_the_transcript(
    new_session: NewSession, client: AsyncTestClient[Litestar], tmp_path: Path
) -> None:
    with rejoin_grace(REJOIN_GRACE_S):
        await _candidate_hears_the_agent(new_session, client, tmp_path)


async def _candidate_hears_the_agent(
    new_session: NewSession, client: AsyncTestClient[Litestar], tmp_path: Path
) -> None:
    created = await new_session(duration_minutes=20)
    session_id = created.session.session_id
    token_response = await client.post(
        "/livekit/token", json={"session_id": str(session_id)}, headers=created.owner_headers
    )
    assert token_response.status_code == 201, token_response.text
    candidate_token = token_response.json()["participant_token"]
    leave_signal = tmp_path / "leave"

    async with interview_stack(tmp_path, client) as stack:
        lk, worker = stack.lk, stack.worker
        candidate = stack.start_candidate(candidate_token, ANSWER, leave_signal=leave_signal)
        finished = asyncio.create_task(asyncio.to_thread(lk.wait, candidate, 240))

        # The candidate's words reach the stored transcript (the agent sends each finished turn).
        turns = await stack.wait_for_candidate_turn(session_id, created.owner_headers, timeout=180)
        # ...and the agent's reply to them is spoken in full (on a busy machine TTS runs sentence by
        # sentence, slower than real time), so the candidate has heard it before it leaves.
        for _ in range(240):
            if len(turns) > 2 and turns[-1]["speaker"] == "agent":
                break
            await asyncio.sleep(0.5)
            response = await client.get(f"/sessions/{session_id}/transcript", headers=created.owner_headers)
            turns = response.json()["segments"]

        # Drain: SIGTERM while the interview runs. The worker takes no new jobs but keeps this one.
        worker.send_signal(signal.SIGTERM)
        await asyncio.sleep(2.0)
        assert worker.poll() is None, "the worker quit before its running interview ended"
        leave_signal.touch()
        result = (await finished).check().json
        exit_code = await asyncio.to_thread(worker.wait, 90)
        worker_log = stack.worker_log
        # Both left on their own; the empty room closes once the departure timeout has passed.
        assert stack.webhooks is not None
        room_name = str(
            (await client.get(f"/sessions/{session_id}", headers=created.owner_headers)).json()["room_name"]
        )
        finished_room = (await stack.webhooks.wait_for(room_name, "room_finished", timeout=30))[0]
        left = stack.webhooks.events(room_name, "participant_left")
        # The candidate's token set the room's departure timeout: the rejoin grace plus a margin.
        departure_timeout_s = room_departure_timeout_s(REJOIN_GRACE_S)

    log_text = worker_log.read_text(errors="replace")
    assert exit_code == 0, log_text[-6000:]
    assert "draining worker" in log_text
    # The candidate heard a spoken greeting from an agent participant named for explicit dispatch.
    assert result["greeting_loud_s"] > 2.0
    assert result["reply_loud_s"] > 1.0
    assert result["agent"]["kind"] == PARTICIPANT_KIND_AGENT
    assert result["agent"]["attributes"].get("lk.agent.name") == "codevoice-interviewer"
    assert str(result["agent"]["identity"]).startswith("codevoice-interviewer-")

    response = await client.get(f"/sessions/{session_id}/transcript", headers=created.owner_headers)
    segments = response.json()["segments"]
    assert segments[0]["speaker"] == "agent"
    assert "CodeVoice interviewer" in segments[0]["text"]
    candidate_text = next(s["text"] for s in segments if s["speaker"] == "candidate")
    assert word_error_rate(ANSWER, candidate_text) <= 0.4, candidate_text
    assert [s["seq"] for s in segments] == list(range(len(segments)))
    # The agent's reply carries the turn's latency figures (end of speech -> first audio, TTFBs).
    reply_metrics = [s["metrics"] for s in segments if s["speaker"] == "agent" and s["metrics"]]
    assert reply_metrics, segments
    assert reply_metrics[0]["end_of_speech_to_first_audio_ms"] > 0
    assert reply_metrics[0]["stt_ttfb_ms"] > 0
    stored = (await client.get(f"/sessions/{session_id}", headers=created.owner_headers)).json()
    assert stored["status"] == "completed"
    assert stored["end_reason"] == "candidate_left", stored
    # What livekit-server reports for an interview that ended normally: the candidate left (CLIENT_INITIATED),
    # then, once the rejoin grace was over, the agent, on its own (CLIENT_INITIATED: it had reported
    # `complete` first, so the control plane does not read its departure as a crash) or, when it was still
    # finishing its last words, removed by the room closing (ROOM_CLOSED): agents do not keep a room open.
    # room_finished comes last, once departure_timeout has passed since the last participant left on its
    # own (counted in whole seconds).
    kinds_and_reasons = [(r.event.participant.kind, r.event.participant.disconnect_reason) for r in left]
    assert kinds_and_reasons[0] == (ParticipantInfo.Kind.STANDARD, DisconnectReason.CLIENT_INITIATED)
    assert kinds_and_reasons[1:] in (
        [(ParticipantInfo.Kind.AGENT, DisconnectReason.CLIENT_INITIATED)],
        [(ParticipantInfo.Kind.AGENT, DisconnectReason.ROOM_CLOSED)],
    ), kinds_and_reasons
    on_their_own = [r for r in left if r.event.participant.disconnect_reason != DisconnectReason.ROOM_CLOSED]
    assert finished_room.at - on_their_own[-1].at > departure_timeout_s - 1.0
    assert stack.webhooks.events(room_name)[-1] is finished_room
