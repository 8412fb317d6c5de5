"""Normalises the candidate's audio before speech recognition.

Whatever arrives (stereo, 48 kHz, a torn last sample), STT, VAD and Smart Turn get mono 16-bit PCM at
the pipeline's input rate; a frame that cannot be read is dropped and logged, never raised, so bad
audio cannot take the interview down.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import structlog
from pipecat.audio.utils import create_stream_resampler
from pipecat.frames.frames import Frame, InputAudioRawFrame, StartFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

logger = structlog.get_logger(__name__)


class InputAudioNormalizer(FrameProcessor):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._target_rate = 16000
        self._resamplers: dict[int, object] = {}
        self._dropped = 0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            self._target_rate = frame.audio_in_sample_rate
        if isinstance(frame, InputAudioRawFrame) and direction == FrameDirection.DOWNSTREAM:
            normalized = await self._normalize(frame)
            if normalized is not None:
                await self.push_frame(normalized, direction)
            return
        await self.push_frame(frame, direction)

    async def _normalize(self, frame: InputAudioRawFrame) -> InputAudioRawFrame | None:
        if frame.num_channels == 1 and frame.sample_rate == self._target_rate and len(frame.audio) % 2 == 0:
            return frame
        try:
            channels = max(1, frame.num_channels)
            samples = np.frombuffer(
                frame.audio[: len(frame.audio) - len(frame.audio) % (2 * channels)], np.int16
            )
            if channels > 1:
                samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
            audio = samples.tobytes()
            if frame.sample_rate != self._target_rate:
                resampler = self._resamplers.get(frame.sample_rate)
                if resampler is None:
                    resampler = create_stream_resampler()
                    self._resamplers[frame.sample_rate] = resampler
                audio = await resampler.resample(audio, frame.sample_rate, self._target_rate)  # type: ignore[attr-defined]
        except Exception as exc:
            self._dropped += 1
            if self._dropped == 1 or self._dropped % 500 == 0:
                logger.warning("audio.frame_dropped", error=str(exc), dropped=self._dropped)
            return None
        if not audio:
            return None
        # replace() keeps the frame's type and fields, such as a UserAudioRawFrame's user_id (who spoke).
        return dataclasses.replace(frame, audio=audio, sample_rate=self._target_rate, num_channels=1)
