"""The interview's user turn start strategy (agent.turn_start) on given frames, through its Pipecat
interface: the events Pipecat's UserTurnController acts on (a turn starts, with or without an
interruption; the user aggregation is emptied; a transcript is pushed into the aggregator).

The spoken tests (test_backchannel.py, test_barge_in.py) run the same rules with real audio; here each
rule is shown on the exact transcripts, whatever the STT would have made of the audio.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
)
from pipecat.turns.types import ProcessFrameResult
from pipecat.turns.user_start import UserTurnStartedParams

from agent.turn_start import InterviewUserTurnStartStrategy, real_words


@dataclass
class ControllerSide:
    """What Pipecat's UserTurnController would be told by the strategy."""

    events: list[str] = field(default_factory=list)
    pushed: list[Frame] = field(default_factory=list)

    def attach(self, strategy: InterviewUserTurnStartStrategy) -> None:
        strategy.add_event_handler("on_user_turn_started", self._started)
        strategy.add_event_handler("on_reset_aggregation", self._reset)
        strategy.add_event_handler("on_push_frame", self._pushed)

    async def _started(self, strategy: Any, params: UserTurnStartedParams) -> None:
        self.events.append("turn+interrupt" if params.enable_interruptions else "turn")
        await strategy.reset()  # as UserTurnController._trigger_user_turn_start does

    async def _reset(self, _strategy: Any) -> None:
        self.events.append("drop")

    async def _pushed(self, _strategy: Any, frame: Frame, _direction: Any = None) -> None:
        self.pushed.append(frame)


def transcript(text: str) -> TranscriptionFrame:
    return TranscriptionFrame(text=text, user_id="candidate", timestamp="", finalized=True)


async def feed(strategy: InterviewUserTurnStartStrategy, *frames: Frame) -> list[ProcessFrameResult]:
    return [await strategy.process_frame(frame) for frame in frames]


async def strategy_after_opening(min_words: int = 3) -> tuple[InterviewUserTurnStartStrategy, ControllerSide]:
    strategy = InterviewUserTurnStartStrategy(min_words=min_words)
    side = ControllerSide()
    side.attach(strategy)
    await feed(strategy, BotStartedSpeakingFrame(), BotStoppedSpeakingFrame())  # the greeting
    return strategy, side


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("Okay.", 0),
        ("Mm-hmm, right.", 0),
        ("Mm right", 0),
        ("Heh, heh, heh.", 0),
        ("K-h-h-h-h-h.", 0),
        ("Yeah, yeah, sure, okay.", 0),
        ("Sorry, can you repeat that?", 5),
        ("Yes, I am ready.", 3),
        ("I have 5 years of Python.", 6),
    ],
)
def test_real_words_leave_out_backchannels_fillers_and_noises(text: str, count: int) -> None:
    assert len(real_words(text)) == count, real_words(text)


async def test_while_the_agent_speaks_a_backchannel_is_dropped_and_starts_no_turn() -> None:
    strategy, side = await strategy_after_opening()
    await feed(strategy, BotStartedSpeakingFrame(), VADUserStartedSpeakingFrame())
    assert side.events == []  # speech alone does not interrupt the agent
    await feed(strategy, transcript("Mm-hmm, right."))
    assert side.events == ["drop"]  # out of the aggregation: no turn, no LLM run


async def test_while_the_agent_speaks_real_words_interrupt_it() -> None:
    strategy, side = await strategy_after_opening()
    await feed(strategy, BotStartedSpeakingFrame(), VADUserStartedSpeakingFrame())
    assert await feed(strategy, transcript("Sorry, can you repeat that?")) == [ProcessFrameResult.STOP]
    assert side.events == ["turn+interrupt"]  # the words stay in the aggregation as the turn's start


async def test_the_word_count_is_the_setting() -> None:
    strategy, side = await strategy_after_opening(min_words=6)
    await feed(strategy, BotStartedSpeakingFrame(), transcript("Sorry, can you repeat that?"))
    assert side.events == ["drop"]


async def test_while_the_agent_is_silent_the_vad_starts_the_turn() -> None:
    strategy, side = await strategy_after_opening()
    await feed(strategy, VADUserStartedSpeakingFrame())
    assert side.events == ["turn+interrupt"]
    # ...and a one-word answer transcribed after the agent stopped is an answer.
    strategy, side = await strategy_after_opening()
    await feed(strategy, BotStartedSpeakingFrame(), VADUserStartedSpeakingFrame(), BotStoppedSpeakingFrame())
    await feed(strategy, transcript("Yes."))
    assert side.events == ["turn+interrupt"]


async def test_the_opening_is_never_interrupted_and_real_words_over_it_follow_it() -> None:
    strategy = InterviewUserTurnStartStrategy(min_words=3)
    side = ControllerSide()
    side.attach(strategy)
    # Before the greeting is audible, and while it is spoken: no speech, however long, starts a turn.
    await feed(strategy, VADUserStartedSpeakingFrame(), BotStartedSpeakingFrame())
    await feed(strategy, VADUserStartedSpeakingFrame())
    await feed(strategy, transcript("Okay."))
    await feed(strategy, transcript("Wait, who will see this recording?"))
    assert side.events == ["drop", "drop"]  # both out of the aggregation; the question is held
    # The greeting ends: the held words become the candidate's turn, without an interruption.
    await feed(strategy, BotStoppedSpeakingFrame())
    assert side.events == ["drop", "drop", "drop", "turn"]
    assert [f.text for f in side.pushed if isinstance(f, TranscriptionFrame)] == [
        "Wait, who will see this recording?"
    ]
    # Later speech is ordinary turn-taking again.
    await feed(strategy, BotStartedSpeakingFrame(), transcript("Right."))
    assert side.events[-1] == "drop"


async def test_a_backchannel_over_the_opening_is_not_kept_for_later() -> None:
    strategy = InterviewUserTurnStartStrategy(min_words=3)
    side = ControllerSide()
    side.attach(strategy)
    await feed(strategy, BotStartedSpeakingFrame(), VADUserStartedSpeakingFrame(), transcript("Okay."))
    await feed(strategy, BotStoppedSpeakingFrame())
    assert side.events == ["drop"]
    assert side.pushed == []


def test_min_words_must_be_positive() -> None:
    with pytest.raises(ValueError, match="min_words"):
        InterviewUserTurnStartStrategy(min_words=0)


async def test_without_an_audio_output_there_is_no_opening_to_guard() -> None:
    # A pipeline with no output transport (the benchmark, text-only tests) never hears the agent speak.
    strategy = InterviewUserTurnStartStrategy(min_words=3, agent_audio=False)
    side = ControllerSide()
    side.attach(strategy)
    await feed(strategy, VADUserStartedSpeakingFrame())
    assert side.events == ["turn+interrupt"]
