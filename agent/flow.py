"""The interview as a Pipecat Flows graph: greeting and consent, warm-up, planned questions with bounded
follow-ups, the candidate's questions, and wrap-up.

One definition serves both modes. An LLM reads each node's task messages and calls the node's
functions; the scripted brain (agent.scripted_llm) asks `InterviewFlow.scripted_turn` what to say and
which of the same functions to call. The flow keeps the clock: it warns before time is up and sends
every transition to wrap-up once the planned length is spent.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import structlog
from pipecat_flows import FlowArgs, FlowManager, FlowsFunctionSchema, NodeConfig

if TYPE_CHECKING:
    from agent.planner import InterviewPlan, PlannedQuestion

logger = structlog.get_logger(__name__)

Clock = Callable[[], float]
WrapUpReason = Literal["completed", "consent_declined", "time_up", "silence", "ended_early"]

GREETING = "greeting"
WARM_UP = "warm_up"
CANDIDATE_QUESTIONS = "candidate_questions"
WRAP_UP = "wrap_up"

# Scripted acknowledgements: short, neutral, and never a judgement of the answer.
ACKNOWLEDGEMENTS = ("Thank you.", "Thanks, that's helpful.", "Okay, thank you.", "Got it, thanks.")
_NO_WORDS = frozenset({"no", "not", "don't", "dont", "nope", "decline", "stop"})
_YES_WORDS = frozenset({"yes", "yeah", "yep", "sure", "okay", "ok", "ready", "fine", "go", "absolutely"})


@dataclass(frozen=True)
class ScriptedTurn:
    """What the scripted brain says, and which node function it then calls (if any)."""

    say: str
    function_name: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)


def question_node_name(index: int, follow_up: int = 0) -> str:
    return f"question_{index + 1}" if follow_up == 0 else f"question_{index + 1}_follow_up_{follow_up}"


def heard_consent(candidate_text: str) -> bool:
    """Deterministic consent check for scripted mode: a clear 'no' without any 'yes' declines."""
    words = set(re.findall(r"[a-z']+", candidate_text.lower()))
    return not (words & _NO_WORDS and not words & _YES_WORDS)


# Short turns that ask to hear the question again; the silence prompt offers exactly that.
_REPEAT_REQUEST = re.compile(
    r"\b(repeat|say (that|it) again|come again|pardon|one more time|didn'?t (catch|hear|get) (that|it))\b"
)
_REPEAT_REQUEST_MAX_WORDS = 10


def asks_to_repeat(candidate_text: str) -> bool:
    """A short request to hear the question again; a long answer that happens to say "repeat" is an answer."""
    text = candidate_text.lower()
    return len(text.split()) <= _REPEAT_REQUEST_MAX_WORDS and _REPEAT_REQUEST.search(text) is not None


class InterviewFlow:
    """Builds the nodes, runs the transitions, and keeps track of where the interview is."""

    def __init__(
        self,
        plan: InterviewPlan,
        *,
        max_follow_ups: int,
        time_warning_before_end_s: float,
        clock: Clock = time.monotonic,
        on_finished: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.plan = plan
        # Runs once the goodbye has been spoken and before the agent leaves the room: the control
        # plane treats an agent that leaves a live interview as crashed, so the job reports first.
        self.on_finished = on_finished
        self.max_follow_ups = max(0, max_follow_ups)
        self._warning_before_end_s = time_warning_before_end_s
        self._clock = clock
        self._started_at: float | None = None
        self._question_index = -1
        self._follow_ups_used = 0
        self._warning_given = False
        self._acknowledgements = 0
        self.current_node: str | None = None
        self.visited: list[str] = []
        self.wrap_up_reason: WrapUpReason | None = None
        self._scripted_opening: str = ""
        self._scripted_function: str | None = None

    # ------------------------------------------------------------------ time
    @property
    def duration_s(self) -> float:
        return self.plan.duration_minutes * 60.0

    def start_clock(self) -> None:
        if self._started_at is None:
            self._started_at = self._clock()

    def elapsed_s(self) -> float:
        return 0.0 if self._started_at is None else self._clock() - self._started_at

    def time_left_s(self) -> float:
        return self.duration_s - self.elapsed_s()

    def is_time_up(self) -> bool:
        return self.time_left_s() <= 0

    def _in_warning_window(self) -> bool:
        return self.time_left_s() <= self._warning_before_end_s

    def _time_warning(self) -> str:
        """The spoken warning, once, the first time a node starts inside the warning window."""
        if self._warning_given or not self._in_warning_window() or self.is_time_up():
            return ""
        self._warning_given = True
        minutes = max(1, round(self.time_left_s() / 60))
        return f"We have about {minutes} minute{'s' if minutes != 1 else ''} left. "

    # ---------------------------------------------------------------- nodes
    def initial_node(self) -> NodeConfig:
        self.start_clock()
        count = len(self.plan.questions)
        opening = (
            f"Hello, and thank you for joining. I'm the CodeVoice interviewer for the {self.plan.role} role. "
            f"Over about {self.plan.duration_minutes} minutes I'll ask you {count} "
            f"question{'s' if count != 1 else ''}, and then you can ask me yours. This conversation is "
            "transcribed for the hiring team. Is that okay with you, and are you ready to begin?"
        )
        return self._node(
            GREETING,
            task=(
                "Greet the candidate warmly and introduce yourself as the CodeVoice interviewer for the "
                f"{self.plan.role} role. Explain that the interview takes about {self.plan.duration_minutes} "
                f"minutes with {count} main questions and time for their own questions, that it is "
                "transcribed for the hiring team, and ask whether they consent and are ready. When they "
                "answer, call record_consent."
            ),
            opening=opening,
            functions=[self._fn_record_consent()],
            scripted_function="record_consent",
            role_message=self._role_message(),
        )

    def _warm_up_node(self) -> NodeConfig:
        return self._node(
            WARM_UP,
            task=(
                f"Ask this warm-up question in your own words: {self.plan.warm_up!r}. Listen, react in one "
                "short neutral sentence, then call finish_warm_up."
            ),
            opening=f"Great, let's begin. {self.plan.warm_up}",
            functions=[self._fn_finish_warm_up()],
            scripted_function="finish_warm_up",
        )

    def _question_node(self, index: int, follow_up_text: str | None = None) -> NodeConfig:
        question = self.plan.questions[index]
        may_follow_up = self._follow_ups_used < self.max_follow_ups and not self._in_warning_window()
        functions = [self._fn_finish_question()]
        if may_follow_up:
            functions.append(self._fn_ask_follow_up(question))
        warning = self._time_warning()
        if follow_up_text is None:
            name = question_node_name(index)
            task = (
                f"Ask planned question {index + 1} of {len(self.plan.questions)} ({question.topic}): "
                f"{question.text!r}. Do not give hints or the answer."
            )
            opening = f"{warning}Question {index + 1}. {question.text}"
        else:
            name = question_node_name(index, self._follow_ups_used)
            task = f"Ask this follow-up question, briefly and in your own words: {follow_up_text!r}."
            opening = f"{warning}{follow_up_text}"
        if warning:
            task = f"First tell the candidate: {warning.strip()!r} Then: {task}"
        if may_follow_up:
            task += (
                " When the answer is complete, either call ask_follow_up with one probing follow-up "
                f"({self.max_follow_ups - self._follow_ups_used} left for this question; useful angles: "
                f"{'; '.join(question.follow_up_hints) or 'depth and trade-offs'}), or call finish_question."
            )
        else:
            task += " When the answer is complete, call finish_question. Ask no further follow-ups."
        return self._node(
            name, task=task, opening=opening, functions=functions, scripted_function="finish_question"
        )

    def _candidate_questions_node(self) -> NodeConfig:
        warning = self._time_warning()
        return self._node(
            CANDIDATE_QUESTIONS,
            task=(
                f"{warning}Tell the candidate that was the last of your questions and ask whether they have "
                "questions about the role or the process. Answer briefly and honestly; say the hiring team "
                "will follow up on anything you cannot answer. When they have no more questions, call "
                "finish_candidate_questions."
            ),
            opening=(
                f"{warning}That's all the questions I have. Do you have any questions for me about the role "
                "or the process?"
            ),
            functions=[self._fn_finish_candidate_questions()],
            scripted_function="finish_candidate_questions",
        )

    def wrap_up_node(self, reason: WrapUpReason) -> NodeConfig:
        self.wrap_up_reason = reason
        closing = {
            "completed": "Thank you for your time today. The hiring team will review the interview and get "
            "back to you with next steps. Goodbye!",
            "consent_declined": "No problem at all. We'll stop here, and the hiring team will contact you "
            "about other options. Goodbye!",
            "time_up": "We're out of time, so let's stop here. Thank you for your answers today. The hiring "
            "team will get back to you with next steps. Goodbye!",
            "silence": "It seems we may have lost you, so I'll end the interview here. The hiring team will "
            "be in touch. Goodbye!",
            "ended_early": "Thank you for your time today. The hiring team will be in touch. Goodbye!",
        }[reason]
        node = self._node(
            WRAP_UP,
            task=(
                "Close the interview now in two or three sentences: thank the candidate, say the hiring "
                "team will follow up with next steps, and say goodbye. Do not ask anything."
                + (" Mention that time is up." if reason == "time_up" else "")
            ),
            opening=closing,
            functions=[],
            scripted_function=None,
        )
        node["post_actions"] = [{"type": "function", "handler": self._finished}, {"type": "end_conversation"}]
        return node

    async def _finished(self, _action: dict[str, Any], _flow_manager: FlowManager) -> None:
        if self.on_finished is not None:
            await self.on_finished()

    def _node(
        self,
        name: str,
        *,
        task: str,
        opening: str,
        functions: list[FlowsFunctionSchema],
        scripted_function: str | None,
        role_message: str | None = None,
    ) -> NodeConfig:
        self.current_node = name
        self.visited.append(name)
        self._scripted_opening = opening
        self._scripted_function = scripted_function
        logger.info("interview.node", node=name, elapsed_s=round(self.elapsed_s(), 1))
        node: NodeConfig = {
            "name": name,
            "task_messages": [{"role": "developer", "content": task}],
            "functions": list(functions),
        }
        if role_message:
            node["role_message"] = role_message
        return node

    def _role_message(self) -> str:
        return (
            f"You are CodeVoice, a friendly, professional technical interviewer for a {self.plan.seniority} "
            f"{self.plan.role} position. This is a spoken conversation: keep every reply short (one to three "
            "sentences), plain text only, no lists, markdown or emojis. Ask one question at a time, never "
            "answer your own questions, never give hints or grades, and stay neutral. Use the functions to "
            "move through the interview."
        )

    # ----------------------------------------------------------- transitions
    def _after_question(self) -> NodeConfig:
        """Where a finished question leads: the next one, the candidate's questions, or wrap-up."""
        self._follow_ups_used = 0
        if self.is_time_up():
            return self.wrap_up_node("time_up")
        if self._question_index + 1 < len(self.plan.questions):
            self._question_index += 1
            return self._question_node(self._question_index)
        return self._candidate_questions_node()

    async def _on_record_consent(self, args: FlowArgs, flow_manager: FlowManager) -> tuple[Any, NodeConfig]:
        consent = bool(args.get("consent", False))
        flow_manager.state["consent"] = consent
        if not consent:
            return {"consent": False}, self.wrap_up_node("consent_declined")
        return {"consent": True}, self._warm_up_node()

    async def _on_finish_warm_up(self, args: FlowArgs, flow_manager: FlowManager) -> tuple[Any, NodeConfig]:
        return None, self._after_question()

    async def _on_finish_question(self, args: FlowArgs, flow_manager: FlowManager) -> tuple[Any, NodeConfig]:
        return None, self._after_question()

    async def _on_ask_follow_up(self, args: FlowArgs, flow_manager: FlowManager) -> tuple[Any, NodeConfig]:
        follow_up = str(args.get("question", "")).strip()
        if self._follow_ups_used >= self.max_follow_ups or self._in_warning_window() or not follow_up:
            # The model asked for more than it may: move on rather than loop on the same question.
            logger.info("interview.follow_up_refused", used=self._follow_ups_used, limit=self.max_follow_ups)
            return {"status": "refused", "reason": "follow-up limit reached"}, self._after_question()
        self._follow_ups_used += 1
        return None, self._question_node(self._question_index, follow_up_text=follow_up)

    async def _on_finish_candidate_questions(
        self, args: FlowArgs, flow_manager: FlowManager
    ) -> tuple[Any, NodeConfig]:
        return None, self.wrap_up_node("time_up" if self.is_time_up() else "completed")

    # ------------------------------------------------------------- functions
    def _fn_record_consent(self) -> FlowsFunctionSchema:
        return FlowsFunctionSchema(
            name="record_consent",
            description="Record whether the candidate agrees to the transcribed interview and is ready.",
            properties={"consent": {"type": "boolean", "description": "True if the candidate agreed."}},
            required=["consent"],
            handler=self._on_record_consent,
        )

    def _fn_finish_warm_up(self) -> FlowsFunctionSchema:
        return FlowsFunctionSchema(
            name="finish_warm_up",
            description="The candidate answered the warm-up question; move to the first planned question.",
            properties={},
            required=[],
            handler=self._on_finish_warm_up,
        )

    def _fn_finish_question(self) -> FlowsFunctionSchema:
        return FlowsFunctionSchema(
            name="finish_question",
            description="The candidate has answered the current question; move on.",
            properties={},
            required=[],
            handler=self._on_finish_question,
        )

    def _fn_ask_follow_up(self, question: PlannedQuestion) -> FlowsFunctionSchema:
        return FlowsFunctionSchema(
            name="ask_follow_up",
            description=f"Ask one follow-up about the current question ({question.topic}).",
            properties={"question": {"type": "string", "description": "The follow-up question to ask."}},
            required=["question"],
            handler=self._on_ask_follow_up,
        )

    def _fn_finish_candidate_questions(self) -> FlowsFunctionSchema:
        return FlowsFunctionSchema(
            name="finish_candidate_questions",
            description="The candidate has no more questions; close the interview.",
            properties={},
            required=[],
            handler=self._on_finish_candidate_questions,
        )

    # ------------------------------------------------------------- scripted
    def scripted_turn(self, candidate_text: str | None) -> ScriptedTurn:
        """The deterministic brain: the node's opening line, or an acknowledgement and one step on.

        `candidate_text` is None when the node has just started (say its opening line) and the
        candidate's finished turn otherwise (acknowledge it and call the node's transition function).
        """
        if candidate_text is None:
            return ScriptedTurn(say=self._scripted_opening)
        function_name = self._scripted_function
        if function_name is None:
            return ScriptedTurn(say="")
        if asks_to_repeat(candidate_text) and self._scripted_opening:
            return ScriptedTurn(say=f"Of course. {self._scripted_opening}")
        if function_name == "record_consent":
            consent = heard_consent(candidate_text)
            return ScriptedTurn(say="", function_name=function_name, arguments={"consent": consent})
        if function_name == "finish_candidate_questions":
            return ScriptedTurn(
                say="Thank you. I'll pass that on, and the hiring team will follow up with an answer.",
                function_name=function_name,
            )
        acknowledgement = ACKNOWLEDGEMENTS[self._acknowledgements % len(ACKNOWLEDGEMENTS)]
        self._acknowledgements += 1
        return ScriptedTurn(say=acknowledgement, function_name=function_name)
