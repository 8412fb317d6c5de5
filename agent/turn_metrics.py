"""Per-turn latency: candidate's end of speech to the agent's first audio, plus STT/LLM/TTS TTFB.

Built on Pipecat's UserBotLatencyObserver (it times VAD stop -> BotStartedSpeaking and collects the TTFB
metrics frames in between). The figures wait here until the agent's turn ends and ride on that
transcript segment's `metrics`.
"""

from __future__ import annotations

from pipecat.observers.user_bot_latency_observer import LatencyBreakdown, UserBotLatencyObserver

from agent.control_plane_client import TurnMetrics


def _service_kind(processor_name: str) -> str | None:
    for kind in ("STT", "LLM", "TTS"):
        if kind in processor_name:
            return kind.lower()
    return None


class TurnLatencyTracker:
    def __init__(self) -> None:
        self.observer = UserBotLatencyObserver()  # type: ignore[no-untyped-call]
        self._latency_s: float | None = None
        self._ttfb_s: dict[str, float] = {}
        self.history: list[TurnMetrics] = []
        self.observer.add_event_handler("on_latency_measured", self._on_latency)
        self.observer.add_event_handler("on_latency_breakdown", self._on_breakdown)

    async def _on_latency(self, _observer: UserBotLatencyObserver, latency_s: float) -> None:
        self._latency_s = latency_s

    async def _on_breakdown(self, _observer: UserBotLatencyObserver, breakdown: LatencyBreakdown) -> None:
        for item in breakdown.ttfb:
            kind = _service_kind(item.processor)
            # The first TTFB of each service in the cycle is the one the candidate waited for.
            if kind is not None and kind not in self._ttfb_s:
                self._ttfb_s[kind] = item.duration_secs

    def take(self) -> TurnMetrics | None:
        """The metrics of the agent turn that just ended, or None if nothing was measured."""
        if self._latency_s is None and not self._ttfb_s:
            return None

        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 1)

        metrics = TurnMetrics(
            end_of_speech_to_first_audio_ms=ms(self._latency_s),
            stt_ttfb_ms=ms(self._ttfb_s.get("stt")),
            llm_ttfb_ms=ms(self._ttfb_s.get("llm")),
            tts_ttfb_ms=ms(self._ttfb_s.get("tts")),
        )
        self._latency_s = None
        self._ttfb_s = {}
        self.history.append(metrics)
        return metrics
