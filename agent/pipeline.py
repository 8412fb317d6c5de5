"""The interview pipeline: audio in -> STT -> user turns -> interviewer LLM -> TTS -> audio out.

It reads top to bottom like Pipecat's examples. Around it sit the parts that make it an interview: the
flow (agent.flow), the transcript (every finished turn goes to the control plane), per-turn latency
metrics, a silence policy that prompts and then wraps up instead of letting Pipecat's idle timeout end
an interview in a long thinking pause, and a deadline that wraps up when the candidate runs long.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import structlog
from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import EndFrame, TTSSpeakFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    AssistantTurnStoppedMessage,
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
    UserTurnStoppedMessage,
)
from pipecat.turns.user_start import TranscriptionUserTurnStartStrategy, VADUserTurnStartStrategy
from pipecat.turns.user_stop import TurnAnalyzerUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies
from pipecat.workers.runner import WorkerRunner
from pipecat_flows import FlowManager

from agent.audio_guard import InputAudioNormalizer
from agent.flow import WRAP_UP, InterviewFlow, WrapUpReason
from agent.turn_metrics import TurnLatencyTracker

if TYPE_CHECKING:
    from pipecat.audio.turn.base_turn_analyzer import BaseTurnAnalyzer
    from pipecat.audio.vad.vad_analyzer import VADAnalyzer
    from pipecat.observers.base_observer import BaseObserver
    from pipecat.processors.frame_processor import FrameProcessor
    from pipecat.services.llm_service import LLMService
    from pipecat.transports.base_transport import BaseTransport
    from pipecat.turns.user_turn_strategies import UserTurnStrategies as Strategies

    from agent.transcript import TranscriptRecorder
    from control_plane.settings import AgentSettings

logger = structlog.get_logger(__name__)

SILENCE_PROMPT = "Take your time. Would you like me to repeat the question, or shall we move on?"
EndReason = Literal[
    "interview_finished",
    "candidate_left",
    "room_closed",
    "idle",
    "cancelled",
    "join_failed",
    "session_closed",
]


@dataclass(frozen=True)
class TurnTaking:
    """Turn-taking tuned for interviews: people pause to think, so the agent waits longer to reply."""

    vad_stop_secs: float = 0.8
    barge_in_min_speech_s: float = 0.3
    turn_stop_timeout_s: float = 3.0
    silence_prompt_s: float = 20.0
    silence_wrap_up_s: float = 60.0
    overtime_grace_s: float = 60.0

    @classmethod
    def from_settings(cls, agent: AgentSettings) -> TurnTaking:
        return cls(
            vad_stop_secs=agent.vad_stop_secs,
            barge_in_min_speech_s=agent.barge_in_min_speech_s,
            turn_stop_timeout_s=agent.turn_stop_timeout_s,
            silence_prompt_s=agent.silence_prompt_s,
            silence_wrap_up_s=agent.silence_wrap_up_s,
            overtime_grace_s=agent.overtime_grace_s,
        )

    @property
    def pipeline_idle_timeout_s(self) -> float:
        # Pipecat's own idle timeout is only the last resort behind the silence policy.
        return self.silence_wrap_up_s + self.silence_prompt_s + 60.0


def create_vad_analyzer(turn_taking: TurnTaking) -> SileroVADAnalyzer:
    return SileroVADAnalyzer(
        params=VADParams(start_secs=turn_taking.barge_in_min_speech_s, stop_secs=turn_taking.vad_stop_secs)
    )


def create_turn_analyzer(turn_taking: TurnTaking) -> LocalSmartTurnAnalyzerV3:
    return LocalSmartTurnAnalyzerV3(params=SmartTurnParams(stop_secs=turn_taking.turn_stop_timeout_s))


def interview_turn_strategies(turn_analyzer: BaseTurnAnalyzer) -> UserTurnStrategies:
    """VAD (or a transcript) starts a candidate turn and interrupts the agent; Smart Turn ends it."""
    return UserTurnStrategies(
        start=[VADUserTurnStartStrategy(), TranscriptionUserTurnStartStrategy()],
        stop=[TurnAnalyzerUserTurnStopStrategy(turn_analyzer=turn_analyzer)],
    )


class InterviewPipeline:
    """One interview's pipeline, worker and flow, with transcript, metrics, silence and deadline."""

    def __init__(
        self,
        *,
        transport_input: FrameProcessor | None,
        stt: FrameProcessor | None,
        llm: LLMService,
        tts: FrameProcessor | None,
        transport_output: FrameProcessor | None,
        flow: InterviewFlow,
        recorder: TranscriptRecorder,
        turn_taking: TurnTaking,
        vad_analyzer: VADAnalyzer | None,
        user_turn_strategies: Strategies,
        transport: BaseTransport | None = None,
        extra_observers: list[BaseObserver] | None = None,
        log_context: dict[str, Any] | None = None,
        enable_rtvi: bool = True,
    ) -> None:
        self.flow = flow
        self.recorder = recorder
        self.turn_taking = turn_taking
        self.latency = TurnLatencyTracker()
        self.end_reason: EndReason | None = None
        self._log = logger.bind(**(log_context or {}))
        self._silent_prompts = 0
        self._user_turn_started_ms: int | None = None
        self._bot_turn_started_ms: int | None = None

        self.context = LLMContext()
        self.aggregators = LLMContextAggregatorPair(
            self.context,
            user_params=LLMUserAggregatorParams(
                vad_analyzer=vad_analyzer,
                user_turn_strategies=user_turn_strategies,
                user_idle_timeout=turn_taking.silence_prompt_s,
                user_turn_stop_timeout=turn_taking.turn_stop_timeout_s + 2.0,
            ),
        )
        stages: list[FrameProcessor | None] = [
            transport_input,
            InputAudioNormalizer(),
            stt,
            self.aggregators.user(),
            llm,
            tts,
            transport_output,
            self.aggregators.assistant(),
        ]
        self.pipeline = Pipeline([stage for stage in stages if stage is not None])
        self.worker = PipelineWorker(
            self.pipeline,
            params=PipelineParams(enable_metrics=True, enable_usage_metrics=True),
            enable_rtvi=enable_rtvi,
            idle_timeout_secs=turn_taking.pipeline_idle_timeout_s,
            cancel_on_idle_timeout=True,
            observers=[self.latency.observer, *(extra_observers or [])],
        )
        self.flow_manager = FlowManager(
            worker=self.worker, llm=llm, context_aggregator=self.aggregators, transport=transport
        )
        self._started = False
        self._deadline_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._wire_events()

    # ------------------------------------------------------------ lifecycle
    async def start_interview(self) -> None:
        """Greet the candidate (once): called when the candidate is in the room."""
        if self._started:
            return
        self._started = True
        await self.flow_manager.initialize(self.flow.initial_node())
        self._deadline_task = asyncio.get_running_loop().create_task(self._deadline_watch(), name="deadline")

    async def force_wrap_up(self, reason: WrapUpReason) -> None:
        if not self._started or self.flow.current_node == WRAP_UP:
            return
        self._log.info("interview.forced_wrap_up", reason=reason)
        node = self.flow.wrap_up_node(reason)
        # In its own task: the node's actions wait for frames that must pass the processor whose
        # event handler may be calling us.
        task = asyncio.get_running_loop().create_task(self.flow_manager.set_node_from_config(node))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def end(self, reason: EndReason) -> None:
        """End gracefully: finish what is in flight, then stop (EndFrame)."""
        if self.end_reason is None:
            self.end_reason = reason
        self._log.info("interview.ending", reason=reason)
        await self.worker.queue_frame(EndFrame())

    async def run(self, *, handle_sigint: bool = False) -> EndReason:
        runner = WorkerRunner(handle_sigint=handle_sigint)
        await runner.add_workers(self.worker)
        closed_watch = asyncio.get_running_loop().create_task(self._session_closed_watch(), name="closed")
        try:
            await runner.run()
        finally:
            closed_watch.cancel()
            if self._deadline_task is not None:
                self._deadline_task.cancel()
        if self.end_reason is None:
            self.end_reason = "interview_finished" if self.flow.current_node == WRAP_UP else "cancelled"
        return self.end_reason

    async def _session_closed_watch(self) -> None:
        """Stop talking once the control plane refuses this session's turns because it was cancelled
        (for example while LiveKit was unreachable, so the cancel could not close the room)."""
        await self.recorder.session_closed.wait()
        await self.end("session_closed")

    async def _deadline_watch(self) -> None:
        """Wrap up when the planned length plus a grace period is spent, even mid-answer."""
        grace = self.turn_taking.overtime_grace_s
        await asyncio.sleep(max(0.0, self.flow.time_left_s() + grace))
        await self.force_wrap_up("time_up")

    # --------------------------------------------------------------- events
    def _wire_events(self) -> None:
        user = self.aggregators.user()
        assistant = self.aggregators.assistant()
        user.add_event_handler("on_user_turn_started", self._on_user_turn_started)
        user.add_event_handler("on_user_turn_stopped", self._on_user_turn_stopped)
        user.add_event_handler("on_user_turn_idle", self._on_user_idle)
        assistant.add_event_handler("on_assistant_turn_started", self._on_assistant_turn_started)
        assistant.add_event_handler("on_assistant_turn_stopped", self._on_assistant_turn_stopped)
        self.worker.add_event_handler("on_idle_timeout", self._on_pipeline_idle)

    async def _on_user_turn_started(self, _aggregator: Any, _strategy: Any) -> None:
        self._user_turn_started_ms = self.recorder.now_ms()
        self._silent_prompts = 0

    async def _on_user_turn_stopped(
        self, _aggregator: Any, _strategy: Any, message: UserTurnStoppedMessage
    ) -> None:
        end_ms = self.recorder.now_ms()
        start_ms = self._user_turn_started_ms if self._user_turn_started_ms is not None else end_ms
        self._user_turn_started_ms = None
        self.recorder.record("candidate", message.content or "", start_ms=start_ms, end_ms=end_ms)

    async def _on_assistant_turn_started(self, _aggregator: Any) -> None:
        self._bot_turn_started_ms = self.recorder.now_ms()

    async def _on_assistant_turn_stopped(
        self, _aggregator: Any, message: AssistantTurnStoppedMessage
    ) -> None:
        end_ms = self.recorder.now_ms()
        start_ms = self._bot_turn_started_ms if self._bot_turn_started_ms is not None else end_ms
        self._bot_turn_started_ms = None
        metrics = self.latency.take() if message.content.strip() else None
        if metrics is not None:
            self._log.info("interview.turn_latency", node=self.flow.current_node, **_present(metrics))
        self.recorder.record("agent", message.content, start_ms=start_ms, end_ms=end_ms, metrics=metrics)

    async def _on_user_idle(self, _aggregator: Any) -> None:
        """Silence policy: a gentle prompt every `silence_prompt_s`, wrap-up after `silence_wrap_up_s`."""
        if not self._started or self.flow.current_node == WRAP_UP:
            return
        self._silent_prompts += 1
        silent_for = self._silent_prompts * self.turn_taking.silence_prompt_s
        self._log.info("interview.silence", silent_for_s=silent_for, node=self.flow.current_node)
        if silent_for >= self.turn_taking.silence_wrap_up_s:
            await self.force_wrap_up("silence")
        else:
            await self.worker.queue_frame(TTSSpeakFrame(SILENCE_PROMPT, append_to_context=True))

    async def _on_pipeline_idle(self, _worker: Any) -> None:
        self._log.warning("interview.pipeline_idle_timeout")
        self.end_reason = self.end_reason or "idle"


def _present(metrics: Any) -> dict[str, float]:
    return {
        name: value for name in metrics.__struct_fields__ if (value := getattr(metrics, name)) is not None
    }
