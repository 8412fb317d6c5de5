"""A candidate who drops out and rejoins: the grace that waits for them (agent.rejoin_grace), the interview
holding while they are away and asking the open question again when they are back (InterviewPipeline's
hold_for_candidate / welcome_back), and the end reason the session records (agent.job.session_end_reason).
The WebRTC versions, over the real livekit-server, are in test_e2e_faults.py."""

from __future__ import annotations

import asyncio
import dataclasses

from pipecat.frames.frames import BotStoppedSpeakingFrame, Frame, TTSSpeakFrame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.tests.utils import QueuedFrameProcessor

from agent.control_plane_client import ControlPlaneClient
from agent.interview import InterviewIO
from agent.job import session_end_reason
from agent.pipeline import SILENCE_PROMPT
from agent.planner import plan_by_rules
from agent.question_bank import default_question_bank
from agent.rejoin_grace import RejoinGrace
from control_plane.settings import Settings
from tests.agent.conftest import NewSession
from tests.agent.harness import FakeClock, InterviewHarness


class Calls:
    """What a RejoinGrace called, in order."""

    def __init__(self) -> None:
        self.log: list[tuple[str, float | None]] = []
        self.gone = asyncio.Event()

    async def away(self) -> None:
        self.log.append(("away", None))

    async def back(self, away_s: float) -> None:
        self.log.append(("back", away_s))

    async def on_gone(self) -> None:
        self.log.append(("gone", None))
        self.gone.set()


def grace(calls: Calls, grace_s: float, clock: FakeClock | None = None) -> RejoinGrace:
    return RejoinGrace(
        grace_s, on_away=calls.away, on_back=calls.back, on_gone=calls.on_gone, clock=clock or FakeClock()
    )


async def test_a_candidate_back_within_the_grace_is_back_and_not_gone() -> None:
    calls, clock = Calls(), FakeClock()
    presence = grace(calls, 3600.0, clock)
    await presence.candidate_connected("PA_1")  # the first connection is the interview's, not a return
    await presence.candidate_connected("PA_1")  # reported again (Pipecat has two events for it)
    assert calls.log == []
    await presence.candidate_left(candidates_present=False)
    assert presence.away
    await presence.candidate_left(candidates_present=False)  # a second report of the same absence
    clock.advance(2.0)
    await presence.candidate_connected("PA_2")  # the reload's new connection
    assert calls.log == [("away", None), ("back", 2.0)]
    assert not presence.away
    assert not presence.gone
    presence.close()


async def test_a_second_tab_is_one_return_whichever_event_comes_first() -> None:
    """livekit-server drops the older connection of the identity (DUPLICATE_IDENTITY); the agent may see
    the old one leave before or after the new one joins."""
    calls, clock = Calls(), FakeClock()
    presence = grace(calls, 3600.0, clock)
    await presence.candidate_connected("PA_1")
    await presence.candidate_connected("PA_2")  # the new tab first...
    await presence.candidate_left(candidates_present=True)  # ...then the old one goes: nobody is away
    assert calls.log == [("back", 0.0)]
    await presence.candidate_left(candidates_present=False)  # the old one first...
    clock.advance(0.5)
    await presence.candidate_connected("PA_3")  # ...then the new one
    assert calls.log == [("back", 0.0), ("away", None), ("back", 0.5)]
    presence.close()


async def test_a_candidate_not_back_within_the_grace_is_gone_once() -> None:
    calls = Calls()
    presence = grace(calls, 0.05)
    await presence.candidate_connected("PA_1")
    await presence.candidate_left(candidates_present=False)
    await asyncio.wait_for(calls.gone.wait(), 10)
    assert presence.gone
    assert not presence.away
    # Too late: a rejoin or another departure changes nothing.
    await presence.candidate_connected("PA_2")
    await presence.candidate_left(candidates_present=False)
    assert calls.log == [("away", None), ("gone", None)]


async def test_closing_stops_the_wait() -> None:
    calls = Calls()
    presence = grace(calls, 0.05)
    await presence.candidate_connected("PA_1")
    await presence.candidate_left(candidates_present=False)
    presence.close()  # the interview ended some other way (the room closed)
    await asyncio.sleep(0.2)  # four times the grace: nothing may fire after close
    await presence.candidate_connected("PA_2")
    assert calls.log == [("away", None)]


async def next_speech(frames: asyncio.Queue[Frame], timeout: float) -> TTSSpeakFrame | None:
    """The next TTSSpeakFrame that reaches the output, or None when none comes within `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (left := deadline - loop.time()) > 0:
        try:
            frame = await asyncio.wait_for(frames.get(), left)
        except TimeoutError:
            return None
        if isinstance(frame, TTSSpeakFrame):
            return frame
    return None


async def test_while_the_candidate_is_away_nobody_is_prompted_and_back_they_hear_the_open_question(
    new_session: NewSession, cp_client: ControlPlaneClient, settings: Settings
) -> None:
    agent = dataclasses.replace(settings.agent, silence_prompt_s=0.2, silence_wrap_up_s=0.4)
    settings = dataclasses.replace(settings, agent=agent)
    created = await new_session()
    frames: asyncio.Queue[Frame] = asyncio.Queue()
    harness = InterviewHarness(
        session=created.session,
        plan=plan_by_rules(created.session, default_question_bank()),
        settings=settings,
        client=cp_client,
        io=InterviewIO(
            transport_output=QueuedFrameProcessor(queue=frames, queue_direction=FrameDirection.DOWNSTREAM)
        ),
    )
    async with harness as h:
        await h.wait_for_agent_lines(1)
        await h.candidate_says("Yes, I'm ready.", then_agent_lines=2)
        await h.wait_until_node("warm_up")
        warm_up = h.interview.flow.open_prompt
        assert h.interview.flow.plan.warm_up in warm_up

        # The candidate drops out as the warm-up question ends: the silence that follows is nobody's,
        # so no prompt and no silence wrap-up, however long it lasts (here ten prompt intervals).
        await h.interview.hold_for_candidate()
        await h.interview.worker.queue_frame(BotStoppedSpeakingFrame())
        assert await next_speech(frames, timeout=10 * agent.silence_prompt_s) is None
        assert h.interview.flow.current_node == "warm_up"
        assert h.interview.end_reason is None

        # Back: the open question again, then the silence policy as before.
        await h.interview.welcome_back()
        again = await next_speech(frames, timeout=10)
        assert again is not None
        assert again.text == f"Welcome back. {warm_up}"
        await h.interview.worker.queue_frame(BotStoppedSpeakingFrame())
        prompt = await next_speech(frames, timeout=10)
        assert prompt is not None
        assert prompt.text == SILENCE_PROMPT

        # The interview resumes where it was: the answer moves on to the first planned question.
        await h.candidate_says("I have been building backend services in Python for six years.")
        await h.wait_until_node("question_1")


def test_the_session_records_the_wrap_up_reason_or_else_the_pipelines() -> None:
    assert session_end_reason("completed", "interview_finished") == "completed"
    assert session_end_reason("consent_declined", None) == "consent_declined"
    assert session_end_reason("time_up", "interview_finished") == "time_up"
    assert session_end_reason(None, "interview_finished") == "completed"
    assert session_end_reason(None, "candidate_left") == "candidate_left"
    assert session_end_reason("silence", "room_closed") == "room_closed"
    assert session_end_reason(None, "idle") == "idle"
