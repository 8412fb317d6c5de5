"""A candidate turn with no words (a cough the VAD took for speech, or speech the STT dropped as filler
or noise) is no turn: nothing is recorded, the LLM does not run (the scripted brain would otherwise say
the node's opening again), and the silence policy keeps counting, although Pipecat's user-idle timer
stopped when the turn began and no reply will restart it."""

from __future__ import annotations

import asyncio
import dataclasses

from pipecat.frames.frames import (
    BotStoppedSpeakingFrame,
    Frame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)

from agent.control_plane_client import ControlPlaneClient
from agent.pipeline import SILENCE_PROMPT
from control_plane.settings import Settings
from tests.agent.conftest import NewSession
from tests.agent.test_silence_policy import next_prompt, silent_candidate_harness


async def test_a_turn_without_words_is_no_turn_and_the_silence_policy_goes_on(
    new_session: NewSession, cp_client: ControlPlaneClient, settings: Settings
) -> None:
    # A short turn stop timeout, so the wordless turn ends quickly; a prompt interval shorter than it.
    agent = dataclasses.replace(settings.agent, turn_stop_timeout_s=0.2, silence_prompt_s=0.5)
    settings = dataclasses.replace(settings, agent=agent)
    created = await new_session()
    frames: asyncio.Queue[Frame] = asyncio.Queue()
    async with silent_candidate_harness(created, settings, cp_client, frames) as h:
        await h.wait_for_agent_lines(1)
        await h.interview.worker.queue_frame(BotStoppedSpeakingFrame())  # the greeting's audio ends
        # The candidate "speaks" but no transcript comes: Pipecat ends the turn on its stop timeout.
        await h.interview.worker.queue_frames([UserStartedSpeakingFrame(), UserStoppedSpeakingFrame()])
        prompt = await next_prompt(frames, timeout=15)
        assert prompt.text == SILENCE_PROMPT
        assert [s.speaker for s in h.segments] == ["agent"]  # the greeting only: no candidate turn
        assert len(h.agent_lines) == 1  # and no reply (the LLM did not run)
        assert h.interview.flow.current_node == "greeting"
        # The candidate's real answer is still the one that moves the interview on.
        await h.candidate_says("Yes, I'm ready.", then_agent_lines=2)
        await h.wait_until_node("warm_up")
    assert [s.text for s in h.segments if s.speaker == "candidate"] == ["Yes, I'm ready."]
