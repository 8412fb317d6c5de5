"""Assembles one interview from a session: the plan, the flow, the interviewer brain and the pipeline.

The transport is a parameter, so the same assembly runs in a LiveKit room (agent.job), in tests and in
the benchmark. LLM mode and scripted mode differ only in the planner and the LLM service they plug in.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from pipecat.transports.base_output import BaseOutputTransport

from agent.flow import InterviewFlow
from agent.pipeline import InterviewPipeline, TurnTaking, interview_turn_strategies
from agent.planner import InterviewPlan, plan_by_rules, plan_with_chat_model
from agent.question_bank import QuestionBank, default_question_bank
from agent.scripted_llm import ScriptedInterviewerLLMService

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from pipecat.audio.turn.base_turn_analyzer import BaseTurnAnalyzer
    from pipecat.audio.vad.vad_analyzer import VADAnalyzer
    from pipecat.observers.base_observer import BaseObserver
    from pipecat.processors.frame_processor import FrameProcessor
    from pipecat.services.llm_service import LLMService
    from pipecat.transports.base_transport import BaseTransport

    from agent.metadata import InterviewSession
    from agent.transcript import TranscriptRecorder
    from control_plane.settings import Settings

logger = structlog.get_logger(__name__)


@dataclass
class InterviewIO:
    """Where audio comes from and goes to, and the speech services around the LLM (None: not used)."""

    transport_input: FrameProcessor | None = None
    transport_output: FrameProcessor | None = None
    stt: FrameProcessor | None = None
    tts: FrameProcessor | None = None
    transport: BaseTransport | None = None


def create_planner_chat_model(settings: Settings) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=settings.llm.model,
        base_url=settings.llm.base_url,
        # Local OpenAI-compatible servers (Ollama, llama.cpp) accept any key.
        api_key=settings.llm.api_key or "not-needed",  # type: ignore[arg-type]
        timeout=settings.llm.timeout_s,
        temperature=0,
    )


def create_interviewer_llm(settings: Settings) -> LLMService:
    from agent.interviewer_llm import InterviewerLLMService

    llm: LLMService = InterviewerLLMService(  # type: ignore[assignment]
        api_key=settings.llm.api_key or "not-needed",
        base_url=settings.llm.base_url,
        settings=InterviewerLLMService.Settings(model=settings.llm.model),
        timeout_s=settings.llm.timeout_s,
        developer_role=settings.llm.uses_developer_role,
    )
    return llm


async def make_plan(
    session: InterviewSession,
    settings: Settings,
    *,
    bank: QuestionBank | None = None,
    chat_model: BaseChatModel | None = None,
) -> InterviewPlan:
    """LLM mode plans with LangChain structured output; scripted mode plans by rules."""
    bank = bank or default_question_bank()
    if chat_model is None and settings.llm.enabled:
        chat_model = create_planner_chat_model(settings)
    if chat_model is None:
        return plan_by_rules(session, bank)
    return await plan_with_chat_model(session, bank, chat_model)


def build_interview(
    *,
    plan: InterviewPlan,
    settings: Settings,
    io: InterviewIO,
    recorder: TranscriptRecorder,
    vad_analyzer: VADAnalyzer | None,
    turn_analyzer: BaseTurnAnalyzer | None,
    llm: LLMService | None = None,
    llm_mode: bool | None = None,
    clock: Callable[[], float] = time.monotonic,
    extra_observers: list[BaseObserver] | None = None,
    log_context: dict[str, Any] | None = None,
    user_turn_strategies: Any = None,
    enable_rtvi: bool = True,
    on_finished: Callable[[], Awaitable[None]] | None = None,
) -> InterviewPipeline:
    """Wire one interview. `llm` overrides the mode's interviewer (tests pass an LLM double's client)."""
    flow = InterviewFlow(
        plan,
        max_follow_ups=settings.agent.max_follow_ups,
        time_warning_before_end_s=settings.agent.time_warning_before_end_s,
        clock=clock,
        on_finished=on_finished,
    )
    use_llm = settings.llm.enabled if llm_mode is None else llm_mode
    if llm is None:
        llm = create_interviewer_llm(settings) if use_llm else ScriptedInterviewerLLMService(flow)
    turn_taking = TurnTaking.from_settings(settings.agent)
    if user_turn_strategies is None:
        if turn_analyzer is None:
            raise ValueError("a turn analyzer (Smart Turn) is needed unless turn strategies are given")
        # Only an output transport reports when the agent speaks (tests and the benchmark may have none).
        agent_audio = isinstance(io.transport_output, BaseOutputTransport)
        user_turn_strategies = interview_turn_strategies(turn_analyzer, turn_taking, agent_audio=agent_audio)
    logger.info(
        "interview.assembled",
        mode="llm" if use_llm else "scripted",
        planner=plan.planner,
        questions=[q.id for q in plan.questions],
        **(log_context or {}),
    )
    return InterviewPipeline(
        transport_input=io.transport_input,
        stt=io.stt,
        llm=llm,
        tts=io.tts,
        transport_output=io.transport_output,
        flow=flow,
        recorder=recorder,
        turn_taking=turn_taking,
        vad_analyzer=vad_analyzer,
        user_turn_strategies=user_turn_strategies,
        transport=io.transport,
        extra_observers=extra_observers,
        log_context=log_context,
        enable_rtvi=enable_rtvi,
    )
