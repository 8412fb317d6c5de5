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
from pipecat.frames.frames import (
    BotStoppedSpeakingFrame,
    EndFrame,
    TTSSpeakFrame,
    UserIdleTimeoutUpdateFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    AssistantTurnStoppedMessage,
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
    UserTurnStoppedMessage,
)
from pipecat.turns.user_turn_strategies import UserTurnStrategies
from pipecat.workers.runner import WorkerRunner
from pipecat_flows import FlowManager

from agent.audio_guard import InputAudioNormalizer
from agent.flow import WRAP_UP, InterviewFlow, WrapUpReason
from agent.turn_metrics import TurnLatencyTracker
from agent.turn_start import InterviewUserTurnStartStrategy
from agent.turn_stop import LastPhraseTurnStopStrategy
from agent.unrecognized_speech import UnrecognizedSpeechResponder

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
    barge_in_min_words: int = 3
    turn_stop_timeout_s: float = 3.0
    silence_prompt_s: float = 20.0
    silence_wrap_up_s: float = 60.0
    thinking_pause_s: float = 60.0
    overtime_grace_s: float = 60.0

    @classmethod
    def from_settings(cls, agent: AgentSettings) -> TurnTaking:
        return cls(
            vad_stop_secs=agent.vad_stop_secs,
            barge_in_min_speech_s=agent.barge_in_min_speech_s,
            barge_in_min_words=agent.barge_in_min_words,
            turn_stop_timeout_s=agent.turn_stop_timeout_s,
            silence_prompt_s=agent.silence_prompt_s,
            silence_wrap_up_s=agent.silence_wrap_up_s,
            thinking_pause_s=agent.thinking_pause_s,
            overtime_grace_s=agent.overtime_grace_s,
        )

    @property
    def pipeline_idle_timeout_s(self) -> float:
        # Pipecat's own idle timeout is only the last resort behind the silence policy.
        return max(self.silence_wrap_up_s, self.thinking_pause_s) + self.silence_prompt_s + 60.0


def create_vad_analyzer(turn_taking: TurnTaking) -> SileroVADAnalyzer:
    return SileroVADAnalyzer(
        params=VADParams(start_secs=turn_taking.barge_in_min_speech_s, stop_secs=turn_taking.vad_stop_secs)
    )


def create_turn_analyzer(turn_taking: TurnTaking) -> LocalSmartTurnAnalyzerV3:
    return LocalSmartTurnAnalyzerV3(params=SmartTurnParams(stop_secs=turn_taking.turn_stop_timeout_s))


def interview_turn_strategies(
    turn_analyzer: BaseTurnAnalyzer, turn_taking: TurnTaking, *, agent_audio: bool = True
) -> UserTurnStrategies:
    """VAD starts a candidate turn while the agent is silent; while it speaks, only real words start one
    (and interrupt it), and its opening is never interrupted (agent.turn_start). Smart Turn ends a turn,
    once its last phrase is transcribed (agent.turn_stop).
    `agent_audio`: the pipeline has an output transport (which reports when the agent speaks)."""
    start = InterviewUserTurnStartStrategy(min_words=turn_taking.barge_in_min_words, agent_audio=agent_audio)
    return UserTurnStrategies(
        start=[start],
        stop=[LastPhraseTurnStopStrategy(turn_analyzer=turn_analyzer)],
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
        self._idle_timeout_lengthened = False  # for a thinking pause the flow granted
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
            UnrecognizedSpeechResponder(),
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
        self.flow.on_thinking_pause = self._on_thinking_pause

    async def _on_user_turn_started(self, _aggregator: Any, _strategy: Any) -> None:
        self._user_turn_started_ms = self.recorder.now_ms()

    async def _on_user_turn_stopped(
        self, aggregator: Any, _strategy: Any, message: UserTurnStoppedMessage
    ) -> None:
        end_ms = self.recorder.now_ms()
        start_ms = self._user_turn_started_ms if self._user_turn_started_ms is not None else end_ms
        self._user_turn_started_ms = None
        text = (message.content or "").strip()
        if not text:
            # A turn with no words (a cough the VAD took for speech, or speech the STT dropped) is no
            # turn: Pipecat pushes no context for an empty aggregation, so the LLM does not run, and
            # nothing is recorded. The silence policy goes on: Pipecat's user-idle timer was stopped
            # when the turn started and restarts only on BotStoppedSpeakingFrame, which no reply will
            # bring (pipecat/turns/user_idle_controller.py, pipecat-ai/pipecat#4343), so restart it.
            self._log.info("interview.turn_without_words", node=self.flow.current_node)
            await aggregator._user_idle_controller.process_frame(BotStoppedSpeakingFrame())
            return
        self._silent_prompts = 0
        self.recorder.record("candidate", text, start_ms=start_ms, end_ms=end_ms)

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
        """Silence policy: a gentle prompt every `silence_prompt_s`, wrap-up after `silence_wrap_up_s`.

        After the candidate was granted time to think, the first prompt comes only after
        `thinking_pause_s` (see `_on_thinking_pause`) and never wraps up: the count starts again from it.
        """
        if not self._started or self.flow.current_node == WRAP_UP:
            return
        if self._idle_timeout_lengthened:
            await self._on_thinking_pause(False)
            self._silent_prompts = 0
            self._log.info(
                "interview.silence_after_thinking_pause",
                silent_for_s=self.turn_taking.thinking_pause_s,
                node=self.flow.current_node,
            )
            await self.worker.queue_frame(TTSSpeakFrame(SILENCE_PROMPT, append_to_context=True))
            return
        self._silent_prompts += 1
        silent_for = self._silent_prompts * self.turn_taking.silence_prompt_s
        self._log.info("interview.silence", silent_for_s=silent_for, node=self.flow.current_node)
        if silent_for >= self.turn_taking.silence_wrap_up_s:
            await self.force_wrap_up("silence")
        else:
            await self.worker.queue_frame(TTSSpeakFrame(SILENCE_PROMPT, append_to_context=True))

    async def _on_thinking_pause(self, granted: bool) -> None:
        """The flow granted the candidate time to think (True) or heard from them again (False).

        Pipecat's user-idle timer starts when the agent stops speaking, with the timeout it has then; the
        flow tells us before the agent says "take your time", so the silence after it is measured against
        `thinking_pause_s` (UserIdleTimeoutUpdateFrame), and every other silence against `silence_prompt_s`.
        """
        if granted == self._idle_timeout_lengthened:
            return
        self._idle_timeout_lengthened = granted
        timeout = self.turn_taking.thinking_pause_s if granted else self.turn_taking.silence_prompt_s
        await self.worker.queue_frame(UserIdleTimeoutUpdateFrame(timeout=timeout))

    async def _on_pipeline_idle(self, _worker: Any) -> None:
        self._log.warning("interview.pipeline_idle_timeout")
        self.end_reason = self.end_reason or "idle"

    # ------------------------------------------------------------- presence
    async def hold_for_candidate(self) -> None:
        """The candidate dropped out (agent.job waits for them to rejoin): no silence prompts, and so no
        silence wrap-up, at an empty room. Pipecat's user-idle timer is off until `welcome_back`; the
        planned-length deadline keeps running."""
        self._log.info("interview.holding_for_candidate", node=self.flow.current_node)
        await self.worker.queue_frame(UserIdleTimeoutUpdateFrame(timeout=0))

    async def welcome_back(self) -> None:
        """The candidate rejoined: the silence policy starts afresh, and the open question is asked again
        ("Welcome back. " + the node's opening), since they may not have heard it."""
        self._silent_prompts = 0
        await self.worker.queue_frame(UserIdleTimeoutUpdateFrame(timeout=self.turn_taking.silence_prompt_s))
        prompt = self.flow.open_prompt
        if not self._started or not prompt or self.end_reason is not None:
            return
        self._log.info("interview.welcome_back", node=self.flow.current_node)
        await self.worker.queue_frame(TTSSpeakFrame(f"Welcome back. {prompt}", append_to_context=True))


def _present(metrics: Any) -> dict[str, float]:
    return {
        name: value for name in metrics.__struct_fields__ if (value := getattr(metrics, name)) is not None
    }
