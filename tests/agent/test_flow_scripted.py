"""Scripted mode end to end through Pipecat (user aggregator -> scripted LLM -> assistant aggregator),
with the transcript going to the real control plane."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from agent.control_plane_client import ControlPlaneClient
from agent.flow import ACKNOWLEDGEMENTS, WRAP_UP
from agent.planner import plan_by_rules
from agent.question_bank import default_question_bank
from control_plane.settings import Settings
from tests.agent.conftest import NewSession
from tests.agent.harness import FakeClock, InterviewHarness


async def test_scripted_interview_asks_the_planned_questions_in_order_and_ends(
    new_session: NewSession,
    cp_client: ControlPlaneClient,
    settings: Settings,
    client: AsyncTestClient[Litestar],
) -> None:
    created = await new_session(duration_minutes=20)
    plan = plan_by_rules(created.session, default_question_bank())
    assert len(plan.questions) == 3
    at_finish: list[tuple[list[str], bool]] = []

    async def on_finished() -> None:
        at_finish.append((list(harness.agent_lines), harness.interview.worker.has_finished()))

    harness = InterviewHarness(
        session=created.session, plan=plan, settings=settings, client=cp_client, on_finished=on_finished
    )
    async with harness:
        lines = await harness.wait_for_agent_lines(1)
        assert "Backend Engineer" in lines[0]
        assert "3 questions" in lines[0]

        await harness.candidate_says("Yes, I'm ready.", then_agent_lines=2)
        assert harness.agent_lines[1] == f"Great, let's begin. {plan.warm_up}"

        await harness.candidate_says("I build payment services in Python.", then_agent_lines=4)
        for number, question in enumerate(plan.questions, start=1):
            assert harness.agent_lines[-1] == f"Question {number}. {question.text}"
            assert harness.agent_lines[-2] in ACKNOWLEDGEMENTS  # neutral, no follow-up invented
            await harness.candidate_says(f"My answer to question {number}.", then_agent_lines=4 + 2 * number)

        assert "Do you have any questions for me" in harness.agent_lines[-1]
        await harness.candidate_says("No, thank you.")
        assert await harness.finished() == "interview_finished"

    flow = harness.interview.flow
    assert flow.visited == [
        "greeting",
        "warm_up",
        "question_1",
        "question_2",
        "question_3",
        "candidate_questions",
        WRAP_UP,
    ]
    assert flow.wrap_up_reason == "completed"
    assert "Goodbye" in harness.agent_lines[-1]
    # The job's report hook ran once, after the goodbye was recorded and before the pipeline stopped.
    assert len(at_finish) == 1
    lines_then, finished_then = at_finish[0]
    assert lines_then == harness.agent_lines
    assert not finished_then

    # Every finished turn reached the control plane, in order, with consecutive sequence numbers.
    response = await client.get(
        f"/sessions/{created.session.session_id}/transcript", headers=created.owner_headers
    )
    stored = response.json()["segments"]
    assert [s["seq"] for s in stored] == list(range(len(harness.segments)))
    assert [(s["speaker"], s["text"]) for s in stored] == [(s.speaker, s.text) for s in harness.segments]
    assert stored[1] == {**stored[1], "speaker": "candidate", "text": "Yes, I'm ready."}


async def test_declined_consent_wraps_up_without_questions(
    new_session: NewSession, cp_client: ControlPlaneClient, settings: Settings
) -> None:
    created = await new_session()
    plan = plan_by_rules(created.session, default_question_bank())
    async with InterviewHarness(session=created.session, plan=plan, settings=settings, client=cp_client) as h:
        await h.wait_for_agent_lines(1)
        await h.candidate_says("No, I don't want to be recorded.")
        assert await h.finished() == "interview_finished"
    assert h.interview.flow.visited == ["greeting", WRAP_UP]
    assert h.interview.flow.wrap_up_reason == "consent_declined"
    assert not any(q.text in line for q in plan.questions for line in h.agent_lines)


async def test_time_warning_then_wrap_up_when_time_is_up(
    new_session: NewSession, cp_client: ControlPlaneClient, settings: Settings
) -> None:
    created = await new_session(duration_minutes=20)
    plan = plan_by_rules(created.session, default_question_bank())
    clock = FakeClock()
    harness = InterviewHarness(
        session=created.session, plan=plan, settings=settings, client=cp_client, clock=clock
    )
    async with harness as h:
        await h.wait_for_agent_lines(1)
        await h.candidate_says("Yes.", then_agent_lines=2)
        await h.candidate_says("Warm-up answer.", then_agent_lines=4)
        assert h.agent_lines[-1].startswith("Question 1.")

        # Inside the warning window (default: two minutes before the end), the next question warns.
        clock.advance(20 * 60 - settings.agent.time_warning_before_end_s + 10)
        await h.candidate_says("Answer one.", then_agent_lines=6)
        assert h.agent_lines[-1].startswith("We have about 2 minutes left. Question 2.")

        # Past the planned length, the next finished answer leads straight to wrap-up.
        clock.advance(settings.agent.time_warning_before_end_s)
        await h.candidate_says("Answer two.")
        assert await h.finished() == "interview_finished"
    assert h.interview.flow.visited[-2:] == ["question_2", WRAP_UP]
    assert h.interview.flow.wrap_up_reason == "time_up"
    assert "out of time" in h.agent_lines[-1]


async def test_an_interview_whose_session_is_cancelled_stops_at_the_next_refused_turn(
    new_session: NewSession,
    cp_client: ControlPlaneClient,
    settings: Settings,
    client: AsyncTestClient[Litestar],
) -> None:
    """The cancel normally closes the room; when it could not, the control plane's 409 on the next
    transcript append still ends the interview instead of questioning a candidate whose session is over."""
    created = await new_session()
    plan = plan_by_rules(created.session, default_question_bank())
    session_id = created.session.session_id
    async with InterviewHarness(session=created.session, plan=plan, settings=settings, client=cp_client) as h:
        await h.wait_for_agent_lines(1)
        assert await h.recorder.flush(10)
        cancelled = await client.post(f"/sessions/{session_id}/cancel", headers=created.owner_headers)
        assert cancelled.status_code == 200, cancelled.text
        await h.candidate_says("Yes, I'm ready.")
        assert await h.finished() == "session_closed"
    assert not any(node.startswith("question_") for node in h.interview.flow.visited)
    assert [s.text for s in h.recorder.delivered] == [h.agent_lines[0]]
    assert h.recorder.rejected[0].text == "Yes, I'm ready."
    stored = await client.get(f"/sessions/{session_id}", headers=created.owner_headers)
    assert stored.json()["status"] == "cancelled"


async def test_a_candidate_who_asks_to_hear_the_question_again_gets_it_again(
    new_session: NewSession, cp_client: ControlPlaneClient, settings: Settings
) -> None:
    """The silence prompt offers to repeat the question; scripted mode must keep that promise rather
    than take the request as the answer and move on."""
    created = await new_session(duration_minutes=20)
    plan = plan_by_rules(created.session, default_question_bank())
    async with InterviewHarness(session=created.session, plan=plan, settings=settings, client=cp_client) as h:
        await h.wait_for_agent_lines(1)
        await h.candidate_says("Yes.", then_agent_lines=2)
        await h.candidate_says("I build payment services.", then_agent_lines=4)
        assert h.agent_lines[-1] == f"Question 1. {plan.questions[0].text}"

        await h.candidate_says("Sorry, could you repeat the question?", then_agent_lines=5)
        assert h.agent_lines[-1] == f"Of course. Question 1. {plan.questions[0].text}"
        assert h.interview.flow.current_node == "question_1"

        # A real answer that happens to use the word is an answer, and the interview moves on.
        await h.candidate_says(
            "I would repeat the request with exponential backoff and an idempotency key on each retry.",
            then_agent_lines=7,
        )
        assert h.agent_lines[-1] == f"Question 2. {plan.questions[1].text}"
