"""Answers speech the STT could not read (agent.frames.UnrecognizedSpeechFrame): the candidate gets an
English request to say it again, instead of silence or an answer to words Whisper invented."""

from __future__ import annotations

import time
from collections.abc import Callable

from pipecat.frames.frames import BotStartedSpeakingFrame, BotStoppedSpeakingFrame, Frame, TTSSpeakFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from agent.frames import UnrecognizedSpeechFrame

ASK_AGAIN_IN_ENGLISH = (
    "Sorry, I didn't catch that. This interview is held in English; could you say that again in English?"
)


class UnrecognizedSpeechResponder(FrameProcessor):
    """Placed right after the STT stage. Turns an UnrecognizedSpeechFrame into a spoken request to repeat
    in English (a TTSSpeakFrame, kept in the LLM context like the agent's other lines), unless the agent
    is speaking (the candidate was talking over it) or it asked less than `min_interval_s` ago (a long
    answer in another language arrives as several turns and deserves one request, not one each).
    """

    def __init__(self, *, min_interval_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._min_interval_s = min_interval_s
        self._now = clock
        self._bot_speaking = False
        self._last_asked: float | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, BotStartedSpeakingFrame):
            self._bot_speaking = True
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._bot_speaking = False
        if isinstance(frame, UnrecognizedSpeechFrame):
            await self._answer(frame)
            return
        await self.push_frame(frame, direction)

    async def _answer(self, frame: UnrecognizedSpeechFrame) -> None:
        now = self._now()
        recently = self._last_asked is not None and now - self._last_asked < self._min_interval_s
        if self._bot_speaking or recently:
            return
        self._last_asked = now
        await self.push_frame(TTSSpeakFrame(ASK_AGAIN_IN_ENGLISH, append_to_context=True))
