"""The agent's own Pipecat frames."""

from __future__ import annotations

from dataclasses import dataclass

from pipecat.frames.frames import DataFrame


@dataclass
class UnrecognizedSpeechFrame(DataFrame):
    """The candidate spoke at length, but Whisper's transcription was rejected (low confidence, a known
    hallucination): most often another language through an English-only model. Pushed downstream by the
    STT service instead of a TranscriptionFrame, so the invented words are never the candidate's.

    Parameters:
        audio_s: seconds of audio Whisper was given for the turn.
        reason: why the transcription was rejected (see agent.transcription.Rejection).
    """

    audio_s: float
    reason: str

    def __str__(self) -> str:
        return f"{self.name}(audio_s: {self.audio_s:.2f}, reason: {self.reason})"
