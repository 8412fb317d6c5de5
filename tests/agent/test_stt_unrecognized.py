"""The responder to unreadable speech: one English request to repeat, not one per fragment, and never
over the agent's own speech."""

from __future__ import annotations

from pipecat.frames.frames import BotStartedSpeakingFrame, BotStoppedSpeakingFrame, TTSSpeakFrame
from pipecat.tests.utils import SleepFrame, run_test

from agent.frames import UnrecognizedSpeechFrame
from agent.unrecognized_speech import ASK_AGAIN_IN_ENGLISH, UnrecognizedSpeechResponder


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 4.0  # each unreadable turn comes 4 s after the previous one
        return self.now


async def test_unreadable_speech_is_answered_once_per_interval_in_english() -> None:
    responder = UnrecognizedSpeechResponder(min_interval_s=10.0, clock=Clock())
    turns = [UnrecognizedSpeechFrame(audio_s=4.0, reason="low_confidence") for _ in range(4)]
    down, _ = await run_test(responder, frames_to_send=turns)
    spoken = [f.text for f in down if isinstance(f, TTSSpeakFrame)]
    # At 104, 108, 112, 116 s: asked at 104 and again at 116 (12 s later), not in between.
    assert spoken == [ASK_AGAIN_IN_ENGLISH, ASK_AGAIN_IN_ENGLISH]
    assert not any(isinstance(f, UnrecognizedSpeechFrame) for f in down)


async def test_unreadable_speech_over_the_agent_is_not_answered() -> None:
    responder = UnrecognizedSpeechResponder(min_interval_s=10.0)
    down, _ = await run_test(
        responder,
        frames_to_send=[
            BotStartedSpeakingFrame(),
            SleepFrame(0.05),
            UnrecognizedSpeechFrame(audio_s=3.0, reason="hallucination"),
            SleepFrame(0.05),
            BotStoppedSpeakingFrame(),
        ],
    )
    assert not any(isinstance(f, TTSSpeakFrame) for f in down)
