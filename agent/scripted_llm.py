"""The scripted interviewer: a small Pipecat LLM service that needs no model.

It plays the LLM's part in the same Pipecat Flows graph as LLM mode. When a node starts, it speaks the
node's opening line (the planned question, read from the bank); after a finished candidate turn that
answers, it gives a short neutral acknowledgement and calls the node's transition function, so the flow
advances one node. A turn that asks for time or for the question again, or that is not a clear yes or no
to the consent question, calls a function that keeps the node (give_time, repeat_question, or
record_consent "unclear"); Pipecat then runs the LLM again on the function's result, and it speaks the
flow's reply. It never invents follow-ups.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Protocol

from pipecat.frames.frames import (
    Frame,
    FunctionCallFromLLM,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.llm_service import LLMService
from pipecat.services.settings import LLMSettings

if TYPE_CHECKING:
    from pipecat.processors.aggregators.llm_context import LLMContext

    from agent.flow import ScriptedTurn


class ScriptedBrain(Protocol):
    def scripted_turn(self, candidate_text: str | None) -> ScriptedTurn: ...


def last_candidate_text(context: LLMContext) -> str | None:
    """The user's text when the newest context message is theirs; None when a node just started or a
    function's result came back (Pipecat adds those as "tool" or "developer" messages)."""
    messages = context.get_messages()
    if not messages:
        return None
    last: Any = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "user":
        return None
    content = last.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


class ScriptedInterviewerLLMService(LLMService):
    """Deterministic stand-in for an LLM, driven by the interview flow's script."""

    def __init__(self, brain: ScriptedBrain, **kwargs: Any) -> None:
        # Every settings field is explicit (None: not applicable), as Pipecat validates them at start.
        settings = LLMSettings(
            model="codevoice-scripted",
            system_instruction=None,
            temperature=None,
            max_tokens=None,
            top_p=None,
            top_k=None,
            frequency_penalty=None,
            presence_penalty=None,
            seed=None,
            filter_incomplete_user_turns=False,
            user_turn_completion_config=None,
        )
        super().__init__(settings=settings, **kwargs)
        self._brain = brain

    def can_generate_metrics(self) -> bool:
        return True

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame):
            await self._respond(frame.context)
        else:
            await self.push_frame(frame, direction)

    async def _respond(self, context: LLMContext) -> None:
        await self.push_frame(LLMFullResponseStartFrame())
        await self.start_processing_metrics()
        await self.start_ttfb_metrics()
        turn = self._brain.scripted_turn(last_candidate_text(context))
        await self.stop_ttfb_metrics()
        if turn.say:
            await self._push_llm_text(turn.say)
        if turn.function_name:
            await self.run_function_calls(
                [
                    FunctionCallFromLLM(
                        function_name=turn.function_name,
                        tool_call_id=f"scripted-{uuid.uuid4().hex[:12]}",
                        arguments=turn.arguments,
                        context=context,
                    )
                ]
            )
        await self.stop_processing_metrics()
        await self.push_frame(LLMFullResponseEndFrame())
