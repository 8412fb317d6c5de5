"""When a candidate's turn ends: Pipecat's Smart Turn stop strategy, waiting for the last phrase's words."""

from __future__ import annotations

from pipecat.frames.frames import VADUserStartedSpeakingFrame
from pipecat.turns.user_stop import TurnAnalyzerUserTurnStopStrategy


class LastPhraseTurnStopStrategy(TurnAnalyzerUserTurnStopStrategy):
    """Pipecat's TurnAnalyzerUserTurnStopStrategy, except that a turn ends only once the phrase the
    candidate spoke last is transcribed (or Pipecat's user_turn_stop_timeout passes).

    In Pipecat 1.4.0 the strategy keeps the previous phrase's text when the candidate speaks again after
    a thinking pause (`_handle_vad_user_started_speaking` clears `_transcript_finalized`, not `_text`, in
    pipecat/turns/user_stop/turn_analyzer_user_turn_stop_strategy.py). When Smart Turn then calls the
    turn complete, the STT safety-net wait (ttfs_p99_latency minus the VAD's stop_secs: 0.2 s for a
    Whisper service without a measured TTFS) ends the turn with that old text before the last phrase is
    transcribed, and its late transcript becomes a second turn. Whisper on a busy CPU takes seconds.
    Forgetting the old text when a new phrase starts makes the strategy wait for the new transcript,
    which ends the turn as soon as it arrives (a segmented STT's transcripts are finalized).
    """

    async def _handle_vad_user_started_speaking(self, frame: VADUserStartedSpeakingFrame) -> None:
        await super()._handle_vad_user_started_speaking(frame)  # type: ignore[no-untyped-call]
        self._text = ""
