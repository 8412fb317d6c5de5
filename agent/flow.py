"""The interview as a Pipecat Flows graph: greeting and consent, warm-up, planned questions with bounded
follow-ups, the candidate's questions, and wrap-up.

One definition serves both modes. An LLM reads each node's task messages and calls the node's
functions; the scripted brain (agent.scripted_llm) asks `InterviewFlow.scripted_turn` what to say and
which of the same functions to call. The flow keeps the clock: it warns before time is up and sends
every transition to wrap-up once the planned length is spent.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import structlog
from pipecat_flows import FlowArgs, FlowManager, FlowsFunctionSchema, NodeConfig

from agent.candidate_intent import Act, ConsentAnswer, Topic, consent_answer, read_intent

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
# The consent notice and question: the end of the greeting, and what is asked again until the answer is
# a clear yes or a clear no.
CONSENT_NOTICE = "This conversation is transcribed for the hiring team."
CONSENT_QUESTION = "Is that okay with you, and are you ready to begin?"
TIME_GIVEN = "Of course, take your time."
CONSENT_ANSWERS: tuple[ConsentAnswer, ...] = ("agree", "decline", "unclear")


@dataclass(frozen=True)
class ScriptedTurn:
    """What the scripted brain says, and which node function it then calls (if any)."""

    say: str
    function_name: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)


# Every node that waits for an answer also offers these, so a request for time or for the question again
# is never taken as the answer.
_WAITING_FUNCTIONS_TASK = (
    " If the candidate asks for a moment to think, call give_time instead of moving on; if they ask to "
    "hear the question again or did not catch it, call repeat_question. An answer that merely contains "
    "words like 'think' ('I think the main trade-off is...') is an answer."
)


def question_node_name(index: int, follow_up: int = 0) -> str:
    return f"question_{index + 1}" if follow_up == 0 else f"question_{index + 1}_follow_up_{follow_up}"


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
        # Told when the candidate is granted time to think (True) and when that pause is over (False):
        # the pipeline's silence policy waits longer before its first prompt after a granted pause.
        self.on_thinking_pause: Callable[[bool], Awaitable[None]] | None = None
        self.thinking_pause_granted = False
        self._scripted_opening: str = ""
        self._scripted_function: str | None = None
        # What the node asks (its opening without any time warning), to say again on request.
        self._current_question: str = ""
        # The scripted brain's reply to a node function that keeps the node (time given, the question
        # again, consent asked again): spoken when the LLM runs on that function's result.
        self._scripted_reply: str | None = None

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
            f"question{'s' if count != 1 else ''}, and then you can ask me yours. {CONSENT_NOTICE} "
            f"{CONSENT_QUESTION}"
        )
        return self._node(
            GREETING,
            task=(
                "Greet the candidate warmly and introduce yourself as the CodeVoice interviewer for the "
                f"{self.plan.role} role. Explain that the interview takes about {self.plan.duration_minutes} "
                f"minutes with {count} main questions and time for their own questions, that it is "
                "transcribed for the hiring team, and ask whether they consent and are ready. When they "
                "answer, call record_consent: answer 'agree' only for a clear yes, 'decline' for a no or an "
                "objection, and 'unclear' for anything else (a question such as who will see the transcript "
                "or whether you can hear them, a hedge, a 'yes, but...'). Only the hiring team for this role "
                "sees the transcript. If they ask for a moment, call give_time."
            ),
            opening=opening,
            functions=[self._fn_record_consent(), self._fn_give_time()],
            scripted_function="record_consent",
            role_message=self._role_message(),
            question=f"{CONSENT_NOTICE} {CONSENT_QUESTION}",
        )

    def _warm_up_node(self) -> NodeConfig:
        return self._node(
            WARM_UP,
            task=(
                f"Ask this warm-up question in your own words: {self.plan.warm_up!r}. Listen, react in one "
                "short neutral sentence, then call finish_warm_up." + _WAITING_FUNCTIONS_TASK
            ),
            opening=f"Great, let's begin. {self.plan.warm_up}",
            functions=[self._fn_finish_warm_up(), *self._waiting_functions()],
            scripted_function="finish_warm_up",
            question=self.plan.warm_up,
        )

    def _question_node(self, index: int, follow_up_text: str | None = None) -> NodeConfig:
        question = self.plan.questions[index]
        may_follow_up = self._follow_ups_used < self.max_follow_ups and not self._in_warning_window()
        functions = [self._fn_finish_question(), *self._waiting_functions()]
        if may_follow_up:
            functions.append(self._fn_ask_follow_up(question))
        warning = self._time_warning()
        if follow_up_text is None:
            name = question_node_name(index)
            task = (
                f"Ask planned question {index + 1} of {len(self.plan.questions)} ({question.topic}): "
                f"{question.text!r}. Do not give hints or the answer."
            )
            asked = f"Question {index + 1}. {question.text}"
        else:
            name = question_node_name(index, self._follow_ups_used)
            task = f"Ask this follow-up question, briefly and in your own words: {follow_up_text!r}."
            asked = follow_up_text
        opening = f"{warning}{asked}"
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
        task += _WAITING_FUNCTIONS_TASK
        return self._node(
            name,
            task=task,
            opening=opening,
            functions=functions,
            scripted_function="finish_question",
            question=asked,
        )

    def _candidate_questions_node(self) -> NodeConfig:
        warning = self._time_warning()
        return self._node(
            CANDIDATE_QUESTIONS,
            task=(
                f"{warning}Tell the candidate that was the last of your questions and ask whether they have "
                "questions about the role or the process. Answer briefly and honestly; say the hiring team "
                "will follow up on anything you cannot answer. When they have no more questions, call "
                "finish_candidate_questions." + _WAITING_FUNCTIONS_TASK
            ),
            opening=(
                f"{warning}That's all the questions I have. Do you have any questions for me about the role "
                "or the process?"
            ),
            functions=[self._fn_finish_candidate_questions(), *self._waiting_functions()],
            scripted_function="finish_candidate_questions",
            question="Do you have any questions for me about the role or the process?",
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
        question: str | None = None,
    ) -> NodeConfig:
        """One node; `question` is what the node asks, said again on request (default: the opening)."""
        self.current_node = name
        self.visited.append(name)
        self._scripted_opening = opening
        self._scripted_function = scripted_function
        self._current_question = opening if question is None else question
        self._scripted_reply = None
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

    async def _on_record_consent(
        self, args: FlowArgs, flow_manager: FlowManager
    ) -> tuple[Any, NodeConfig | None]:
        """agree: the interview starts; decline: it ends politely; anything else (or a malformed answer,
        never read as consent): the node stays and the consent question is asked again."""
        await self._end_thinking_pause()
        answer = args.get("answer")
        if answer == "agree":
            flow_manager.state["consent"] = True
            return {"consent": True}, self._warm_up_node()
        if answer == "decline":
            flow_manager.state["consent"] = False
            return {"consent": False}, self.wrap_up_node("consent_declined")
        logger.info("interview.consent_unclear", answer=answer)
        return {
            "consent": "not given yet",
            "instruction": (
                "Do not start the interview yet. Unless you already did in this reply: if the candidate "
                "asked something, answer in one short, honest sentence (only the hiring team for the "
                f"{self.plan.role} role sees the transcript); then ask again whether the transcribed "
                "interview is okay with them and they are ready."
            ),
        }, None

    async def _on_give_time(self, args: FlowArgs, flow_manager: FlowManager) -> tuple[Any, None]:
        """The candidate asked for time: the node stays, the agent says so briefly and waits."""
        if self._scripted_reply is None:
            self._scripted_reply = (
                f"{TIME_GIVEN} Just tell me when you're ready."
                if self.current_node == GREETING
                else TIME_GIVEN
            )
        self.thinking_pause_granted = True
        logger.info("interview.thinking_pause", node=self.current_node)
        if self.on_thinking_pause is not None:
            await self.on_thinking_pause(True)
        return {
            "status": "waiting",
            "instruction": (
                f"Unless you already did, say only a short sentence such as {TIME_GIVEN!r}; then wait for "
                "the candidate without moving on."
            ),
        }, None

    async def _on_repeat_question(self, args: FlowArgs, flow_manager: FlowManager) -> tuple[Any, None]:
        """The candidate asked to hear the question again: the node stays and the question is repeated."""
        await self._end_thinking_pause()
        if self._scripted_reply is None:
            self._scripted_reply = f"Of course. {self._current_question}"
        return {
            "question": self._current_question,
            "instruction": "Say this question again, in the same words or more simply, without hints.",
        }, None

    async def _end_thinking_pause(self) -> None:
        """The candidate has spoken again after a granted pause: the silence policy is back to normal."""
        if not self.thinking_pause_granted:
            return
        self.thinking_pause_granted = False
        if self.on_thinking_pause is not None:
            await self.on_thinking_pause(False)

    async def _on_finish_warm_up(self, args: FlowArgs, flow_manager: FlowManager) -> tuple[Any, NodeConfig]:
        await self._end_thinking_pause()
        return None, self._after_question()

    async def _on_finish_question(self, args: FlowArgs, flow_manager: FlowManager) -> tuple[Any, NodeConfig]:
        await self._end_thinking_pause()
        return None, self._after_question()

    async def _on_ask_follow_up(self, args: FlowArgs, flow_manager: FlowManager) -> tuple[Any, NodeConfig]:
        await self._end_thinking_pause()
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
        await self._end_thinking_pause()
        return None, self.wrap_up_node("time_up" if self.is_time_up() else "completed")

    # ------------------------------------------------------------- functions
    def _fn_record_consent(self) -> FlowsFunctionSchema:
        return FlowsFunctionSchema(
            name="record_consent",
            description=(
                "Record the candidate's answer to whether the transcribed interview is okay and they are "
                "ready. 'unclear' keeps the interview from starting: answer them and ask again."
            ),
            properties={
                "answer": {
                    "type": "string",
                    "enum": list(CONSENT_ANSWERS),
                    "description": (
                        "agree: a clear yes ('yes', 'sure, go ahead', 'no problem'). decline: a no or an "
                        "objection ('I'd rather not', 'I don't consent', 'not really'). unclear: anything "
                        "else: a question ('who will see this?', 'can you hear me?'), a hedge, 'yes, but...'."
                    ),
                }
            },
            required=["answer"],
            handler=self._on_record_consent,
        )

    def _waiting_functions(self) -> list[FlowsFunctionSchema]:
        return [self._fn_give_time(), self._fn_repeat_question()]

    def _fn_give_time(self) -> FlowsFunctionSchema:
        return FlowsFunctionSchema(
            name="give_time",
            description=(
                "The candidate asks for a moment to think ('let me think about that', 'give me a second'). "
                "Keeps the current question open; afterwards say only something short like "
                f"{TIME_GIVEN!r} and wait."
            ),
            properties={},
            required=[],
            handler=self._on_give_time,
        )

    def _fn_repeat_question(self) -> FlowsFunctionSchema:
        return FlowsFunctionSchema(
            name="repeat_question",
            description=(
                "The candidate asks to hear the question again or did not catch it ('sorry, what did you "
                "say?', 'could you repeat that?'). Returns the current question to say again."
            ),
            properties={},
            required=[],
            handler=self._on_repeat_question,
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
        """The deterministic brain: the node's opening line, a reply that keeps the node, or an
        acknowledgement and one step on.

        `candidate_text` is None when the LLM runs without a new candidate turn: a node has just started
        (say its opening line) or a function that keeps the node has returned (say its reply). Otherwise it
        is the candidate's finished turn, read by agent.candidate_intent: a request for time or for the
        question again calls give_time or repeat_question (the node stays); at the consent question only a
        clear yes or no is an answer; anything else at a question is the answer.
        """
        if candidate_text is None:
            if self._scripted_reply is not None:
                reply, self._scripted_reply = self._scripted_reply, None
                return ScriptedTurn(say=reply)
            return ScriptedTurn(say=self._scripted_opening)
        function_name = self._scripted_function
        if function_name is None:
            return ScriptedTurn(say="")
        intent = read_intent(candidate_text)
        if intent.act is Act.ASK_TIME:
            return ScriptedTurn(say="", function_name="give_time")
        if function_name == "record_consent":
            answer = consent_answer(intent)
            if answer == "unclear":
                self._scripted_reply = self._consent_reply(intent.act, intent.topic)
            return ScriptedTurn(say="", function_name=function_name, arguments={"answer": answer})
        if intent.act in (Act.ASK_REPEAT, Act.CHECK_HEARING):
            if intent.act is Act.CHECK_HEARING:
                self._scripted_reply = f"Yes, I can hear you. {self._current_question}"
            return ScriptedTurn(say="", function_name="repeat_question")
        if function_name == "finish_candidate_questions":
            return ScriptedTurn(
                say="Thank you. I'll pass that on, and the hiring team will follow up with an answer.",
                function_name=function_name,
            )
        acknowledgement = ACKNOWLEDGEMENTS[self._acknowledgements % len(ACKNOWLEDGEMENTS)]
        self._acknowledgements += 1
        return ScriptedTurn(say=acknowledgement, function_name=function_name)

    def _consent_reply(self, act: Act, topic: Topic | None) -> str:
        """What the scripted interviewer says to a turn that is neither a clear yes nor a clear no: a
        short honest answer, then the consent question again."""
        again = f"{CONSENT_NOTICE} {CONSENT_QUESTION}"
        if act is Act.CHECK_HEARING:
            return f"Yes, I can hear you. {again}"
        if act is Act.ASK_REPEAT:
            return f"Of course. {again}"
        if act is Act.QUESTION and topic is Topic.RECORDING:
            return (
                f"Only the hiring team for the {self.plan.role} role sees the transcript of this interview. "
                f"{CONSENT_QUESTION}"
            )
        if act is Act.QUESTION and topic is Topic.DURATION:
            return f"It takes about {self.plan.duration_minutes} minutes. {again}"
        if act is Act.QUESTION:
            return f"The hiring team can answer that better than I can, and they will follow up. {again}"
        return f"Just to be sure: {again[0].lower()}{again[1:]}"

    # ------------------------------------------------------------- presence
    @property
    def open_prompt(self) -> str:
        """The question the current node asks (as said again on request), to ask again when the candidate
        rejoins after dropping out; "" before the interview starts and once it is wrapping up."""
        if self.current_node is None or self.current_node == WRAP_UP:
            return ""
        return self._current_question
