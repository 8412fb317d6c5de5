"""Scripted mode hears what the candidate's turn does (issue 13): only a clear yes is consent, an
objection ends the interview politely, a question or a line check gets an answer and the consent question
again; asking for time or for the question again keeps the question open, and the silence policy gives a
granted thinking pause longer before its first prompt. End to end through Pipecat with the real control
plane, as in test_flow_scripted.py."""

from __future__ import annotations

import asyncio
import dataclasses

from pipecat.frames.frames import BotStoppedSpeakingFrame, Frame, TTSSpeakFrame, UserIdleTimeoutUpdateFrame

from agent.control_plane_client import ControlPlaneClient
from agent.flow import ACKNOWLEDGEMENTS, CONSENT_NOTICE, CONSENT_QUESTION, GREETING, TIME_GIVEN, WRAP_UP
from agent.pipeline import SILENCE_PROMPT
from agent.planner import plan_by_rules
from agent.question_bank import default_question_bank
from control_plane.settings import Settings
from tests.agent.conftest import NewSession
from tests.agent.harness import InterviewHarness
from tests.agent.test_silence_policy import silent_candidate_harness


async def test_a_line_check_and_a_question_are_answered_and_consent_is_asked_again(
    new_session: NewSession, cp_client: ControlPlaneClient, settings: Settings
) -> None:
    created = await new_session(role="Backend Engineer")
    plan = plan_by_rules(created.session, default_question_bank())
    async with InterviewHarness(session=created.session, plan=plan, settings=settings, client=cp_client) as h:
        await h.wait_for_agent_lines(1)

        await h.candidate_says("Hello? Can you hear me?", then_agent_lines=2)
        assert h.agent_lines[-1] == f"Yes, I can hear you. {CONSENT_NOTICE} {CONSENT_QUESTION}"
        assert h.interview.flow.current_node == GREETING

        await h.candidate_says("Wait, who will see this recording?", then_agent_lines=3)
        assert h.agent_lines[-1] == (
            "Only the hiring team for the Backend Engineer role sees the transcript of this interview. "
            f"{CONSENT_QUESTION}"
        )
        assert h.interview.flow.current_node == GREETING

        # A hedged yes is not consent either; the question comes again.
        await h.candidate_says("Yes, but I'd like it deleted afterwards.", then_agent_lines=4)
        assert h.agent_lines[-1].endswith(CONSENT_QUESTION)
        assert h.interview.flow.current_node == GREETING

        # "No problem" is a yes.
        await h.candidate_says("No problem, let's start.", then_agent_lines=5)
        assert h.agent_lines[-1] == f"Great, let's begin. {plan.warm_up}"
    assert h.interview.flow.visited == [GREETING, "warm_up"]
    # The candidate's turns are in the transcript as said, each followed by the agent's reply.
    assert [s.speaker for s in h.segments] == ["agent", *["candidate", "agent"] * 4]


async def test_an_objection_declines_and_ends_the_interview_politely(
    new_session: NewSession, cp_client: ControlPlaneClient, settings: Settings
) -> None:
    created = await new_session()
    plan = plan_by_rules(created.session, default_question_bank())
    async with InterviewHarness(session=created.session, plan=plan, settings=settings, client=cp_client) as h:
        await h.wait_for_agent_lines(1)
        await h.candidate_says("I object to being recorded.")
        assert await h.finished() == "interview_finished"
    assert h.interview.flow.visited == [GREETING, WRAP_UP]
    assert h.interview.flow.wrap_up_reason == "consent_declined"
    assert h.agent_lines[-1].startswith("No problem at all. We'll stop here")
    assert not any(plan.warm_up in line or q.text in line for q in plan.questions for line in h.agent_lines)


async def test_not_ready_yet_at_the_greeting_gets_time_not_a_refusal(
    new_session: NewSession, cp_client: ControlPlaneClient, settings: Settings
) -> None:
    created = await new_session()
    plan = plan_by_rules(created.session, default_question_bank())
    async with InterviewHarness(session=created.session, plan=plan, settings=settings, client=cp_client) as h:
        await h.wait_for_agent_lines(1)
        await h.candidate_says("I'm not ready yet, give me a second.", then_agent_lines=2)
        assert h.agent_lines[-1] == f"{TIME_GIVEN} Just tell me when you're ready."
        assert h.interview.flow.current_node == GREETING
        assert h.interview.flow.thinking_pause_granted
        await h.candidate_says("Okay, I'm ready.", then_agent_lines=3)
        assert h.agent_lines[-1] == f"Great, let's begin. {plan.warm_up}"
        assert not h.interview.flow.thinking_pause_granted


async def test_asking_for_time_or_for_the_question_again_keeps_the_question_open(
    new_session: NewSession, cp_client: ControlPlaneClient, settings: Settings
) -> None:
    created = await new_session(duration_minutes=20)
    plan = plan_by_rules(created.session, default_question_bank())
    question_1 = f"Question 1. {plan.questions[0].text}"
    async with InterviewHarness(session=created.session, plan=plan, settings=settings, client=cp_client) as h:
        await h.wait_for_agent_lines(1)
        await h.candidate_says("Yes.", then_agent_lines=2)
        await h.candidate_says("I build payment services.", then_agent_lines=4)
        assert h.agent_lines[-1] == question_1

        await h.candidate_says("Hmm, let me think about that for a moment.", then_agent_lines=5)
        assert h.agent_lines[-1] == TIME_GIVEN
        await h.candidate_says("Give me a second to think.", then_agent_lines=6)
        assert h.agent_lines[-1] == TIME_GIVEN
        assert h.interview.flow.current_node == "question_1"

        await h.candidate_says("Sorry, what did you say?", then_agent_lines=7)
        assert h.agent_lines[-1] == f"Of course. {question_1}"
        await h.candidate_says("I didn't catch that.", then_agent_lines=8)
        assert h.agent_lines[-1] == f"Of course. {question_1}"
        await h.candidate_says("Hello? Can you hear me?", then_agent_lines=9)
        assert h.agent_lines[-1] == f"Yes, I can hear you. {question_1}"
        assert h.interview.flow.current_node == "question_1"

        # A real answer that happens to say "think" is an answer: acknowledged, and the next question.
        await h.candidate_says(
            "I think the main trade-off is consistency versus latency.", then_agent_lines=11
        )
        assert h.agent_lines[-2] in ACKNOWLEDGEMENTS
        assert h.agent_lines[-1] == f"Question 2. {plan.questions[1].text}"
    assert h.interview.flow.visited == [GREETING, "warm_up", "question_1", "question_2"]
    # Nothing the candidate asked for was acknowledged as if it were an answer.
    assert sum(line in ACKNOWLEDGEMENTS for line in h.agent_lines) == 2


async def frames_until_prompt(frames: asyncio.Queue[Frame], timeout: float = 10.0) -> list[Frame]:
    """Every frame that reached the output, up to and including the next spoken prompt."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen: list[Frame] = []
    while not seen or not isinstance(seen[-1], TTSSpeakFrame):
        seen.append(await asyncio.wait_for(frames.get(), max(0.01, deadline - loop.time())))
    return seen


def idle_timeouts(frames: list[Frame]) -> list[float]:
    return [f.timeout for f in frames if isinstance(f, UserIdleTimeoutUpdateFrame)]


async def test_a_granted_thinking_pause_is_not_nagged_as_soon_as_usual(
    new_session: NewSession, cp_client: ControlPlaneClient, settings: Settings
) -> None:
    """The first prompt after "take your time" waits thinking_pause_s (longer than the wrap-up time,
    and still no wrap-up); after it, the usual policy runs: one more prompt, then wrap-up."""
    agent = dataclasses.replace(
        settings.agent, silence_prompt_s=0.2, silence_wrap_up_s=0.4, thinking_pause_s=1.0
    )
    settings = dataclasses.replace(settings, agent=agent)
    created = await new_session()
    frames: asyncio.Queue[Frame] = asyncio.Queue()
    async with silent_candidate_harness(created, settings, cp_client, frames) as h:
        await h.wait_for_agent_lines(1)
        await h.candidate_says("Yes.", then_agent_lines=2)
        await h.candidate_says("I build payment services.", then_agent_lines=4)
        await h.candidate_says("Give me a second to think.", then_agent_lines=5)
        assert h.agent_lines[-1] == TIME_GIVEN

        loop = asyncio.get_running_loop()
        stopped_at = loop.time()
        await h.interview.worker.queue_frame(BotStoppedSpeakingFrame())  # "take your time" is spoken
        seen = await frames_until_prompt(frames)
        waited = loop.time() - stopped_at
        assert seen[-1].text == SILENCE_PROMPT  # type: ignore[attr-defined]
        # Pipecat's idle timer was set to the thinking pause before the reply, and back afterwards.
        assert idle_timeouts(seen) == [1.0, 0.2]
        assert waited >= agent.thinking_pause_s - 0.05  # a timer never fires early
        assert h.interview.flow.current_node == "question_1"

        await h.interview.worker.queue_frame(BotStoppedSpeakingFrame())  # the prompt is spoken
        assert idle_timeouts(await frames_until_prompt(frames)) == []
        assert h.interview.flow.current_node == "question_1"
        await h.interview.worker.queue_frame(BotStoppedSpeakingFrame())
        assert await h.finished() == "interview_finished"
    assert h.interview.flow.wrap_up_reason == "silence"


async def test_an_answer_after_a_thinking_pause_brings_the_usual_silence_policy_back(
    new_session: NewSession, cp_client: ControlPlaneClient, settings: Settings
) -> None:
    agent = dataclasses.replace(
        settings.agent, silence_prompt_s=0.2, silence_wrap_up_s=0.6, thinking_pause_s=30.0
    )
    settings = dataclasses.replace(settings, agent=agent)
    created = await new_session()
    frames: asyncio.Queue[Frame] = asyncio.Queue()
    async with silent_candidate_harness(created, settings, cp_client, frames) as h:
        await h.wait_for_agent_lines(1)
        await h.candidate_says("Yes.", then_agent_lines=2)
        await h.candidate_says("I build payment services.", then_agent_lines=4)
        await h.candidate_says("Let me think.", then_agent_lines=5)
        assert h.interview.flow.thinking_pause_granted
        await h.candidate_says(
            "I'd put an index on the foreign key and batch the writes.", then_agent_lines=7
        )
        assert h.agent_lines[-1].startswith("Question 2.")
        assert not h.interview.flow.thinking_pause_granted

        # The question's audio ends; the next prompt comes on the usual timer (far sooner than 30 s).
        await h.interview.worker.queue_frame(BotStoppedSpeakingFrame())
        seen = await frames_until_prompt(frames, timeout=10.0)
        assert idle_timeouts(seen) == [30.0, 0.2]
        assert h.interview.flow.current_node == "question_2"
