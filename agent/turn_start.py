"""When a candidate's turn starts, and whether it interrupts the agent: real words do; backchannels,
fillers and noise do not.

Pipecat decides when a user turn starts with user turn start strategies (pipecat.turns.user_start). Its
defaults (VAD, then any transcript) let a cough or an "Okay." cut the agent off, and those words then
became the candidate's answer. `InterviewUserTurnStartStrategy` replaces them:

- Agent silent: the VAD starts the turn at once (as Pipecat's `VADUserTurnStartStrategy`), so Smart Turn
  judges the whole answer, thinking pauses included. A transcript starts it too (speech the VAD started
  while the agent was still talking, or a soft voice the VAD missed).
- Agent speaking: only a transcript with at least `min_words` real words starts the turn, and so
  interrupts the agent (Pipecat's `MinWordsUserTurnStartStrategy`, but counting real words: "Mm-hmm,
  right." or "Heh heh heh" are three tokens and no words). Shorter speech is dropped from the user
  aggregation: it is neither a turn nor an LLM run. With a segmented STT (Whisper) the transcript comes
  once the candidate pauses, so a barge-in takes effect after their first phrase.
- The opening (the agent's first response: the greeting and the consent notice) is never interrupted,
  as with Pipecat's `MuteUntilFirstBotCompleteUserMuteStrategy`, which ends at the first
  BotStoppedSpeakingFrame. Unlike muting, speech is still transcribed: at least `min_words` real words said
  over the opening (say, "Wait, who will see this recording?") are held and become the candidate's turn
  as soon as the opening has been spoken; shorter ones ("Okay.", a cough) are dropped. Speech that
  overlaps only the end of the opening is transcribed after the agent has stopped, so it is an ordinary
  turn ("Yes, I'm ready" said over the last words of the question is the answer).
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InterimTranscriptionFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
)
from pipecat.turns.types import ProcessFrameResult
from pipecat.turns.user_start import BaseUserTurnStartStrategy, UserTurnStartedParams
from pipecat.utils.time import time_now_iso8601

logger = structlog.get_logger(__name__)

# Said while someone else talks to show you are listening, or to fill a pause: not words that take the
# floor. Tokens without a vowel or digit ("mm", "hmm", "mhm", "shh", "k-h-h") are not words either.
BACKCHANNEL_WORDS = frozenset(
    {
        "ah", "aha", "ahem", "alright", "cool", "eh", "er", "erm", "exactly", "gotcha", "ha", "hah",
        "haha", "heh", "huh", "nice", "oh", "ok", "okay", "ooh", "right", "sure", "uh", "uhm", "um",
        "umm", "wow", "yeah", "yep", "yes", "yup",
    }
)  # fmt: skip
_TOKEN = re.compile(r"[a-z0-9']+")
_WORDLIKE = re.compile(r"[aeiouy0-9]")


def real_words(text: str) -> list[str]:
    """The words in `text` that are neither a backchannel nor a filler nor a vocal noise.

    >>> real_words("Mm-hmm, right.")
    []
    >>> real_words("Sorry, could you repeat that?")
    ['sorry', 'could', 'you', 'repeat', 'that']
    """
    tokens = _TOKEN.findall(text.lower().replace("-", " "))
    return [t for t in tokens if _WORDLIKE.search(t) and t.strip("'") not in BACKCHANNEL_WORDS]


class InterviewUserTurnStartStrategy(BaseUserTurnStartStrategy):
    """Pipecat user turn start strategy for interviews (see the module docstring for the rules).

    Args:
        min_words: real words (see `real_words`) needed to interrupt the agent, and to keep what was said
            over the opening. At least 1.
        agent_audio: whether the pipeline plays the agent's audio through an output transport, which
            reports BotStartedSpeakingFrame / BotStoppedSpeakingFrame. Without one (tests that check only
            the text, the benchmark) the agent is never "speaking" and its opening is not guarded.
    """

    def __init__(self, *, min_words: int, agent_audio: bool = True, **kwargs: Any) -> None:
        if min_words < 1:
            raise ValueError(f"min_words must be at least 1, got {min_words}")
        super().__init__(**kwargs)
        self._min_words = min_words
        self._bot_speaking = False
        self._opening_spoken = not agent_audio
        self._held: list[str] = []
        self._held_user_id = ""

    @property
    def agent_has_floor(self) -> bool:
        """The agent is speaking, or its opening has not been spoken yet."""
        return self._bot_speaking or not self._opening_spoken

    async def reset(self) -> None:
        """Called by Pipecat's UserTurnController whenever a user turn starts."""
        await super().reset()  # type: ignore[no-untyped-call]
        self._held.clear()

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        if isinstance(frame, BotStartedSpeakingFrame):
            self._bot_speaking = True
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._bot_speaking = False
            if not self._opening_spoken:
                self._opening_spoken = True
                await self._release_held_words()
        elif isinstance(frame, VADUserStartedSpeakingFrame):
            # While the agent has the floor, speech starts nothing until its words are known.
            if not self.agent_has_floor:
                return await self._start_turn()
        elif isinstance(frame, TranscriptionFrame):
            return await self._handle_transcription(frame)
        elif isinstance(frame, InterimTranscriptionFrame) and self._interrupts(frame.text):
            # A streaming STT can barge in before the phrase ends; interims never reach the aggregation.
            return await self._start_turn()
        return ProcessFrameResult.CONTINUE

    async def _start_turn(self) -> ProcessFrameResult:
        await self.trigger_user_turn_started()  # type: ignore[no-untyped-call]
        return ProcessFrameResult.STOP

    async def _drop_aggregation(self) -> None:
        """Empty the user aggregator's aggregation (Pipecat's on_reset_aggregation)."""
        await self.trigger_reset_aggregation()  # type: ignore[no-untyped-call]

    def _interrupts(self, text: str) -> bool:
        return self._opening_spoken and len(real_words(text)) >= self._min_words

    async def _handle_transcription(self, frame: TranscriptionFrame) -> ProcessFrameResult:
        # The user aggregator has already added the text to its aggregation when strategies see it.
        if not frame.text.strip():
            return ProcessFrameResult.CONTINUE
        if not self.agent_has_floor:
            return await self._start_turn()
        words = len(real_words(frame.text))
        if self._interrupts(frame.text):
            # A barge-in: the turn starts with these words and interrupts the agent.
            logger.info("turn.barge_in", words=words)
            return await self._start_turn()
        # Not a turn (yet): take the text out of the aggregation, so no later turn carries it.
        await self._drop_aggregation()
        if words >= self._min_words:
            logger.info("turn.held_over_opening", words=words)
            self._held.append(frame.text.strip())
            self._held_user_id = frame.user_id
        else:
            logger.info("turn.backchannel_dropped", words=words, opening=not self._opening_spoken)
        return ProcessFrameResult.STOP

    async def _release_held_words(self) -> None:
        """The opening has been spoken: what the candidate said over it becomes their turn.

        The turn starts without an interruption (the agent is silent), and the held words go through the
        user aggregator as one finalized transcript, so Pipecat's stop strategy ends the turn as it does
        for any transcript and the LLM then answers it. If the candidate is still talking, their next
        phrase joins this turn or becomes the next one.
        """
        if not self._held:
            return
        text = " ".join(self._held)
        user_id = self._held_user_id
        self._held.clear()
        await self._drop_aggregation()
        await self._call_event_handler(
            "on_user_turn_started",
            UserTurnStartedParams(
                enable_interruptions=False, enable_user_speaking_frames=self._enable_user_speaking_frames
            ),
        )
        await self.push_frame(
            TranscriptionFrame(text=text, user_id=user_id, timestamp=time_now_iso8601(), finalized=True)
        )
