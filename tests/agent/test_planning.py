"""Question bank loading, dispatch metadata parsing, and both planners (rules; LangChain structured
output with LangChain's fake chat model)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, get_args

import pytest
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage

from agent.metadata import InterviewSession, InvalidDispatchMetadataError, parse_dispatch_metadata
from agent.planner import PlanDraft, plan_by_rules, plan_with_chat_model, question_budget
from agent.question_bank import (
    QuestionBankError,
    SessionSeniority,
    default_question_bank,
    load_question_bank,
)


def metadata(**changes: Any) -> str:
    body = {
        "session_id": str(uuid.uuid4()),
        "role": "Backend Engineer",
        "seniority": "senior",
        "topics": ["python", "databases"],
        "duration_minutes": 20,
        "language": "en",
    }
    body.update(changes)
    return json.dumps(body)


def session(**changes: Any) -> InterviewSession:
    return parse_dispatch_metadata(metadata(**changes))


# ------------------------------------------------------------------ bank
def test_bank_loads_and_every_question_is_usable() -> None:
    bank = default_question_bank()
    assert len(bank.questions) >= 15
    for question in bank.questions:
        assert question.text.endswith("?") or question.text.endswith(".")
        assert question.good_answer_covers, question.id
    assert bank.role_family_for("Senior Backend Engineer") == "backend"
    assert bank.role_family_for("React Frontend Developer") == "frontend"
    assert bank.role_family_for("Astronaut") == "general"


def test_bank_rejects_duplicate_ids(tmp_path: Path) -> None:
    text = Path("agent/question_bank.yaml").read_text()
    broken = tmp_path / "bank.yaml"
    broken.write_text(text.replace("id: db-indexing", "id: py-gil-concurrency"))
    with pytest.raises(QuestionBankError, match="duplicate question ids"):
        load_question_bank(broken)


def test_bank_rejects_unknown_fields(tmp_path: Path) -> None:
    broken = tmp_path / "bank.yaml"
    broken.write_text(
        Path("agent/question_bank.yaml").read_text().replace("topic: python", "topik: python", 1)
    )
    with pytest.raises(QuestionBankError, match="invalid question bank"):
        load_question_bank(broken)


# -------------------------------------------------------------- metadata
def test_metadata_parses_the_control_plane_shape() -> None:
    parsed = session()
    assert parsed.role == "Backend Engineer"
    assert parsed.topics == ["python", "databases"]
    assert parsed.duration_minutes == 20


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("{not json", "not JSON"),
        (metadata(session_id="nope"), "session_id"),
        (metadata(seniority="wizard"), "seniority"),
        (metadata(duration_minutes=0), "duration_minutes"),
        (metadata(role="   "), "role"),
        (json.dumps({"role": "x"}), "session_id"),
    ],
)
def test_invalid_metadata_is_a_typed_error_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidDispatchMetadataError) as caught:
        parse_dispatch_metadata(raw)
    assert reason in caught.value.reason


# -------------------------------------------------------------- planners
def test_rules_plan_covers_requested_topics_first_and_fits_the_length() -> None:
    plan = plan_by_rules(session(duration_minutes=30), default_question_bank())
    assert len(plan.questions) == question_budget(30) == 6
    assert [q.topic for q in plan.questions[:4]] == ["python", "databases", "python", "databases"]
    assert len({q.id for q in plan.questions}) == len(plan.questions)
    assert plan.planner == "rules"
    assert all("senior" in default_question_bank().by_id(q.id).seniority for q in plan.questions)  # type: ignore[union-attr]


def test_every_seniority_the_control_plane_accepts_gets_a_plan() -> None:
    from control_plane.domain.interviews.schemas import Seniority as ControlPlaneSeniority

    bank = default_question_bank()
    levels = get_args(ControlPlaneSeniority)
    assert set(levels) == set(get_args(SessionSeniority))
    for level in levels:
        plan = plan_by_rules(session(seniority=level), bank)
        assert plan.seniority == level
        assert plan.questions, level
    # The ends of the ladder borrow the nearest level the bank is written for.
    intern = plan_by_rules(session(seniority="intern"), bank)
    assert all("junior" in bank.by_id(q.id).seniority for q in intern.questions)  # type: ignore[union-attr]
    principal = plan_by_rules(session(seniority="principal"), bank)
    assert all("staff" in bank.by_id(q.id).seniority for q in principal.questions)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("typed", "topic"),
    [
        ("System Design", "system_design"),
        ("system-design", "system_design"),
        ("SQL", "databases"),
        ("PostgreSQL", "databases"),
        (" Python ", "python"),
    ],
)
def test_topics_are_matched_as_people_type_them(typed: str, topic: str) -> None:
    plan = plan_by_rules(session(topics=[typed], duration_minutes=15), default_question_bank())
    assert plan.questions[0].topic == topic


def test_topic_aliases_must_name_bank_topics(tmp_path: Path) -> None:
    broken = tmp_path / "bank.yaml"
    broken.write_text(
        Path("agent/question_bank.yaml").read_text().replace("sql: databases", "sql: databasez", 1)
    )
    with pytest.raises(QuestionBankError, match="sql -> databasez"):
        load_question_bank(broken)


def test_rules_plan_is_reproducible_per_session_and_varies_between_sessions() -> None:
    interview = session(duration_minutes=45)
    first = plan_by_rules(interview, default_question_bank())
    assert plan_by_rules(interview, default_question_bank()) == first
    others = [plan_by_rules(session(duration_minutes=45), default_question_bank()) for _ in range(5)]
    assert any(other.questions != first.questions for other in others)


class StructuredFakeChatModel(FakeMessagesListChatModel):
    """LangChain's fake chat model, able to take part in `with_structured_output` (tool calling)."""

    def bind_tools(self, tools: Any, *, tool_choice: Any = None, **kwargs: Any) -> Any:
        return self


def plan_reply(question_ids: list[str], warm_up_id: str = "warmup-recent-project") -> AIMessage:
    args = {"question_ids": question_ids, "warm_up_id": warm_up_id, "rationale": "fits"}
    return AIMessage(content="", tool_calls=[{"name": PlanDraft.__name__, "args": args, "id": "call-1"}])


async def test_llm_plan_uses_the_models_choice_of_bank_questions() -> None:
    model = StructuredFakeChatModel(
        responses=[plan_reply(["db-transactions-isolation", "invented-id", "py-profiling"])]
    )
    plan = await plan_with_chat_model(session(), default_question_bank(), model)
    assert plan.planner == "llm"
    assert [q.id for q in plan.questions] == [
        "db-transactions-isolation",
        "py-profiling",
    ]  # unknown id dropped
    assert plan.questions[0].good_answer_covers  # bank details travel with the plan
    assert plan.warm_up.startswith("To warm up")


async def test_llm_plan_falls_back_to_rules_when_the_answer_is_unusable() -> None:
    model = StructuredFakeChatModel(responses=[AIMessage(content="I think you should ask about Python.")])
    interview = session()
    plan = await plan_with_chat_model(interview, default_question_bank(), model)
    assert plan == plan_by_rules(interview, default_question_bank())
    assert plan.planner == "rules"


async def test_llm_mode_plans_with_chatopenai_structured_output(settings: Any) -> None:
    """The production planner path: langchain-openai's ChatOpenAI, against the OpenAI-compatible double."""
    import dataclasses

    from agent.interview import make_plan
    from control_plane.settings import LLMSettings
    from tests.agent.llm_double import OpenAICompatibleLLMDouble, Reply

    def planner(request: dict[str, Any]) -> Reply:
        assert request.get("response_format") or request.get("tools"), request
        draft = {"question_ids": ["db-indexing", "py-gil-concurrency"], "warm_up_id": "warmup-current-work"}
        if request.get("response_format"):
            return Reply(text=json.dumps({**draft, "rationale": "fits"}))
        from tests.agent.llm_double import ToolCall

        return Reply(tool_calls=(ToolCall(PlanDraft.__name__, {**draft, "rationale": "fits"}),))

    double = OpenAICompatibleLLMDouble(planner)
    await double.start()
    try:
        llm = LLMSettings(
            api_key=None, base_url=double.base_url, model="double", timeout_s=10.0, context_tokens=8000
        )
        plan = await make_plan(session(), dataclasses.replace(settings, llm=llm))
    finally:
        await double.stop()
    assert plan.planner == "llm"
    assert [q.id for q in plan.questions] == ["db-indexing", "py-gil-concurrency"]
    assert len(double.requests) == 1
    prompt = json.dumps(double.requests[0]["messages"])
    assert "Backend Engineer" in prompt
    assert "db-transactions-isolation" in prompt  # the catalogue of bank questions went to the model
