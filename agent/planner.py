"""Turns a session (role, seniority, topics, length) and the question bank into a typed interview plan.

Two planners, one result type: `plan_by_rules` is reproducible per session (scripted mode, and the
fallback; seeded by the session id, so two sessions for the same role get different questions), and
`plan_with_chat_model` lets a LangChain chat model pick and order bank questions through structured
output. The LLM may only choose questions that exist in the bank, so every planned question keeps its
follow-up hints and grading notes.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

import msgspec
import structlog
from pydantic import BaseModel, Field

from agent.question_bank import (
    BankQuestion,
    QuestionBank,
    WarmUpQuestion,
    bank_level,
    hint_for_point,
)

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from agent.metadata import InterviewSession

logger = structlog.get_logger(__name__)

# Minutes the fixed parts take (greeting, warm-up, the candidate's questions, wrap-up), and one question.
FIXED_MINUTES = 6
MINUTES_PER_QUESTION = 4
MAX_QUESTIONS = 8


class PlannedQuestion(msgspec.Struct, frozen=True):
    id: str
    topic: str
    text: str
    follow_up_hints: tuple[str, ...]
    good_answer_covers: tuple[str, ...]
    # follow_up_points[i]: the index into good_answer_covers that follow_up_hints[i] probes.
    follow_up_points: tuple[int, ...] = ()

    @classmethod
    def from_bank(cls, question: BankQuestion) -> PlannedQuestion:
        return cls(
            id=question.id,
            topic=question.topic,
            text=question.text,
            follow_up_hints=question.follow_up_hints,
            good_answer_covers=question.good_answer_covers,
            follow_up_points=question.follow_up_points,
        )

    def hint_for_point(self, point: int) -> str | None:
        """The follow-up hint that probes good-answer point `point` (0-based), if one is linked."""
        return hint_for_point(self.follow_up_hints, self.follow_up_points, point)


class InterviewPlan(msgspec.Struct, frozen=True):
    role: str
    seniority: str
    duration_minutes: int
    warm_up: str
    questions: tuple[PlannedQuestion, ...]
    planner: str  # "rules" or "llm": which planner produced it, for logs and the summary


class PlanDraft(BaseModel):
    """What the planning model returns: bank question ids in the order to ask them."""

    question_ids: list[str] = Field(description="Ids of bank questions to ask, in order, best first.")
    warm_up_id: str = Field(description="Id of the warm-up question to open with.")
    rationale: str = Field(default="", description="One sentence on why these questions fit the role.")


class PlanningError(RuntimeError):
    """No usable plan could be made (for example, the bank has nothing for the role)."""


def question_budget(duration_minutes: int) -> int:
    return max(1, min(MAX_QUESTIONS, (duration_minutes - FIXED_MINUTES) // MINUTES_PER_QUESTION))


def candidate_questions(session: InterviewSession, bank: QuestionBank) -> list[BankQuestion]:
    """Bank questions that suit the session's role family and seniority, in bank order."""
    family = bank.role_family_for(session.role)
    level = bank_level(session.seniority)
    suitable = [q for q in bank.questions if family in q.role_families and level in q.seniority]
    if not suitable:
        suitable = [q for q in bank.questions if level in q.seniority]
    return suitable


def topic_questions(
    session: InterviewSession, bank: QuestionBank, topic: str, family: str
) -> list[BankQuestion]:
    """Bank questions on `topic` at the session's level: those for the role `family`, or, when the
    family has none (a frontend session that asks for databases), the topic's questions for any family."""
    level = bank_level(session.seniority)
    at_level = [q for q in bank.questions if q.topic == topic and level in q.seniority]
    return [q for q in at_level if family in q.role_families] or at_level


def session_rng(session: InterviewSession) -> random.Random:
    """The plan's source of variety: seeded by the session id, so re-planning a session (a restarted
    job) gives the same interview while two sessions for the same role differ."""
    return random.Random(session.session_id.int)  # noqa: S311 - variety, not secrecy


def plan_by_rules(session: InterviewSession, bank: QuestionBank) -> InterviewPlan:
    """A varied plan without a model: the requested topics in turn, then other suitable questions.

    Questions are drawn at random, seeded by the session id (`session_rng`), so the same session always
    gets the same plan. Each requested topic first gives at most a quarter of its suitable questions,
    or more when the requested topics would otherwise fill less than half the interview (at least one
    each); the budget left over comes from the rest of the role's pool, and only then from more of the
    requested topics. Drawing k of n questions makes two sessions share k/n of them on average, so
    small k per topic keeps two interviews for the same role and topics under a third in common on
    average (tests/agent/test_question_bank.py measures it). Raises PlanningError when the bank has
    nothing for the session's level.
    """
    pool = candidate_questions(session, bank)
    if not pool:
        raise PlanningError(f"the question bank has nothing for {session.seniority} {session.role}")
    rng = session_rng(session)
    budget = question_budget(session.duration_minutes)
    wanted = list(dict.fromkeys(bank.topic_for(t) for t in session.topics))
    family = bank.role_family_for(session.role)
    by_topic = {topic: _shuffled(topic_questions(session, bank, topic, family), rng) for topic in wanted}
    # Requested topics still fill half the interview when they have the questions (relevance over variety).
    half_each = math.ceil(math.ceil(budget / 2) / len(wanted)) if wanted else 0
    quota = {topic: max(1, len(qs) // 4, half_each) for topic, qs in by_topic.items()}
    chosen: list[BankQuestion] = []

    def take_in_turn(limit: dict[str, int] | None) -> None:
        taken = dict.fromkeys(wanted, 0)
        while len(chosen) < budget:
            progressed = False
            for topic in wanted:
                remaining = [q for q in by_topic[topic] if q not in chosen]
                if remaining and len(chosen) < budget and (limit is None or taken[topic] < limit[topic]):
                    chosen.append(remaining[0])
                    taken[topic] += 1
                    progressed = True
            if not progressed:
                return

    take_in_turn(quota)
    for question in _shuffled(pool, rng):
        if len(chosen) >= budget:
            break
        if question not in chosen:
            chosen.append(question)
    take_in_turn(None)  # a small pool: the requested topics give more than a quarter after all
    warm_up = bank.warm_up[rng.randrange(len(bank.warm_up))]
    return _plan(session, warm_up, chosen, planner="rules")


def _shuffled(questions: list[BankQuestion], rng: random.Random) -> list[BankQuestion]:
    shuffled = list(questions)
    rng.shuffle(shuffled)
    return shuffled


async def plan_with_chat_model(
    session: InterviewSession, bank: QuestionBank, chat_model: BaseChatModel
) -> InterviewPlan:
    """Ask the model for a plan; fall back to the rules when its answer is unusable (logged)."""
    pool = candidate_questions(session, bank)
    budget = question_budget(session.duration_minutes)
    catalogue = "\n".join(f"- {q.id} [{q.topic}]: {q.text}" for q in pool)
    warm_ups = "\n".join(f"- {w.id}: {w.text}" for w in bank.warm_up)
    prompt = [
        (
            "system",
            "You plan technical voice interviews. Choose questions only from the catalogue, by id. "
            "Cover the requested topics first, keep a sensible order from easier to harder, and choose "
            f"exactly {budget} questions.",
        ),
        (
            "human",
            f"Role: {session.role}\nSeniority: {session.seniority}\nTopics: {', '.join(session.topics)}\n"
            f"Length: {session.duration_minutes} minutes\n\nWarm-up questions:\n{warm_ups}\n\n"
            f"Catalogue:\n{catalogue}",
        ),
    ]
    try:
        structured = chat_model.with_structured_output(PlanDraft)
        draft = await structured.ainvoke(prompt)
    except Exception as exc:
        logger.warning("planner.llm_failed", error=str(exc), session_id=str(session.session_id))
        return plan_by_rules(session, bank)
    if not isinstance(draft, PlanDraft):
        logger.warning("planner.llm_bad_output", output_type=type(draft).__name__)
        return plan_by_rules(session, bank)
    allowed = {q.id: q for q in pool}
    chosen: list[BankQuestion] = []
    for question_id in draft.question_ids:
        question = allowed.get(question_id)
        if question is None:
            logger.warning("planner.llm_unknown_question", question_id=question_id)
        elif question not in chosen:
            chosen.append(question)
    if not chosen:
        logger.warning("planner.llm_empty_plan", session_id=str(session.session_id))
        return plan_by_rules(session, bank)
    warm_up = next((w for w in bank.warm_up if w.id == draft.warm_up_id), bank.warm_up[0])
    return _plan(session, warm_up, chosen[:budget], planner="llm")


def _plan(
    session: InterviewSession, warm_up: WarmUpQuestion, chosen: list[BankQuestion], *, planner: str
) -> InterviewPlan:
    return InterviewPlan(
        role=session.role,
        seniority=session.seniority,
        duration_minutes=session.duration_minutes,
        warm_up=warm_up.text,
        questions=tuple(PlannedQuestion.from_bank(q) for q in chosen),
        planner=planner,
    )
