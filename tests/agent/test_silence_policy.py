"""The silence policy: a long pause gets a gentle prompt, a longer one a polite wrap-up; the interview
is never cut off by Pipecat's own idle timeout first. Timeouts are shortened through settings; the
idle timer is Pipecat's own (it starts when the agent stops speaking)."""

from __future__ import annotations

import asyncio
import dataclasses

from pipecat.frames.frames import BotStoppedSpeakingFrame, Frame, TTSSpeakFrame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.tests.utils import QueuedFrameProcessor

from agent.control_plane_client import ControlPlaneClient
from agent.flow import WRAP_UP
from agent.interview import InterviewIO
from agent.pipeline import SILENCE_PROMPT, TurnTaking
from agent.planner import plan_by_rules
from agent.question_bank import default_question_bank
from control_plane.settings import Settings
from tests.agent.conftest import CreatedSession, NewSession
from tests.agent.harness import InterviewHarness


async def next_prompt(frames: asyncio.Queue[Frame], timeout: float = 10.0) -> TTSSpeakFrame:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await asyncio.wait_for(frames.get(), max(0.01, deadline - loop.time()))
        if isinstance(frame, TTSSpeakFrame):
            return frame


def silent_candidate_harness(
    created: CreatedSession, settings: Settings, client: ControlPlaneClient, frames: asyncio.Queue[Frame]
) -> InterviewHarness:
    """The interview with no speech services: what reaches the output is queued on `frames`."""
    return InterviewHarness(
        session=created.session,
        plan=plan_by_rules(created.session, default_question_bank()),
        settings=settings,
        client=client,
        io=InterviewIO(
            transport_output=QueuedFrameProcessor(queue=frames, queue_direction=FrameDirection.DOWNSTREAM)
        ),
    )


async def test_silence_prompts_then_wraps_up(
    new_session: NewSession, cp_client: ControlPlaneClient, settings: Settings
) -> None:
    agent = dataclasses.replace(settings.agent, silence_prompt_s=0.3, silence_wrap_up_s=0.6)
    settings = dataclasses.replace(settings, agent=agent)
    assert TurnTaking.from_settings(agent).pipeline_idle_timeout_s > agent.silence_wrap_up_s
    created = await new_session()
    frames: asyncio.Queue[Frame] = asyncio.Queue()
    harness = silent_candidate_harness(created, settings, cp_client, frames)
    async with harness as h:
        await h.wait_for_agent_lines(1)
        # The greeting's audio ends; the candidate says nothing.
        await h.interview.worker.queue_frame(BotStoppedSpeakingFrame())
        prompt = await next_prompt(frames)
        assert prompt.text == SILENCE_PROMPT
        assert h.interview.flow.current_node == "greeting"  # prompted, not ended

        # The prompt is spoken; the silence goes on past silence_wrap_up_s.
        await h.interview.worker.queue_frame(BotStoppedSpeakingFrame())
        assert await h.finished() == "interview_finished"
    assert h.interview.flow.visited == ["greeting", WRAP_UP]
    assert h.interview.flow.wrap_up_reason == "silence"
    assert "lost you" in h.agent_lines[-1]


async def test_answering_after_a_prompt_resets_the_silence(
    new_session: NewSession, cp_client: ControlPlaneClient, settings: Settings
) -> None:
    agent = dataclasses.replace(settings.agent, silence_prompt_s=0.3, silence_wrap_up_s=0.6)
    settings = dataclasses.replace(settings, agent=agent)
    created = await new_session()
    frames: asyncio.Queue[Frame] = asyncio.Queue()
    harness = silent_candidate_harness(created, settings, cp_client, frames)
    async with harness as h:
        await h.wait_for_agent_lines(1)
        await h.interview.worker.queue_frame(BotStoppedSpeakingFrame())
        await next_prompt(frames)
        await h.candidate_says("Sorry, yes, I'm ready.", then_agent_lines=2)
        await h.wait_until_node("warm_up")
        # A fresh silence after the answer starts counting from zero: one prompt, no wrap-up yet.
        await h.interview.worker.queue_frame(BotStoppedSpeakingFrame())
        await next_prompt(frames)
        assert h.interview.flow.current_node == "warm_up"
