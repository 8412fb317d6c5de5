"""LLM mode: the same flow on Pipecat's OpenAILLMService, talking to an OpenAI-compatible double."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agent.control_plane_client import ControlPlaneClient
from agent.flow import GREETING, WRAP_UP
from agent.interview import create_interviewer_llm
from agent.planner import InterviewPlan, plan_by_rules
from agent.question_bank import default_question_bank
from control_plane.settings import LLMSettings, Settings
from tests.agent.conftest import CreatedSession, NewSession
from tests.agent.harness import InterviewHarness
from tests.agent.llm_double import (
    OpenAICompatibleLLMDouble,
    Reply,
    ToolCall,
    function_result,
    last_role,
    tool_names,
)

FOLLOW_UP = "Can you give a concrete example from your work?"


def eager_interviewer(request: dict[str, Any]) -> Reply:
    """Asks a follow-up whenever the flow offers one; otherwise moves on. Speaks at every node start."""
    if last_role(request) != "user":
        return Reply(text="Interviewer speaking.")
    tools = tool_names(request)
    if "record_consent" in tools:
        return Reply(tool_calls=(ToolCall("record_consent", {"answer": "agree"}),))
    if "ask_follow_up" in tools:
        return Reply(tool_calls=(ToolCall("ask_follow_up", {"question": FOLLOW_UP}),))
    for name in ("finish_warm_up", "finish_question", "finish_candidate_questions"):
        if name in tools:
            return Reply(text="Thank you.", tool_calls=(ToolCall(name),))
    return Reply(text="Goodbye.")


@pytest.fixture
async def llm_double() -> AsyncIterator[OpenAICompatibleLLMDouble]:
    double = OpenAICompatibleLLMDouble(eager_interviewer)
    await double.start()
    yield double
    await double.stop()


def llm_settings(
    settings: Settings, double: OpenAICompatibleLLMDouble, *, developer_role: bool | None = True
) -> Settings:
    # The double reads the "developer" role as the flow's instructions, so these tests keep it on.
    llm = LLMSettings(
        api_key=None,
        base_url=double.base_url,
        model=double.model,
        timeout_s=10.0,
        context_tokens=16000,
        developer_role=developer_role,
    )
    return dataclasses.replace(settings, llm=llm)


def llm_harness(
    created: CreatedSession, plan: InterviewPlan, settings: Settings, cp_client: ControlPlaneClient
) -> InterviewHarness:
    """The interview in LLM mode, on Pipecat's OpenAI service pointed at the double by `settings`."""
    return InterviewHarness(
        session=created.session,
        plan=plan,
        settings=settings,
        client=cp_client,
        llm_mode=True,
        llm=create_interviewer_llm(settings),
    )


async def test_llm_mode_follow_ups_stop_at_the_limit(
    new_session: NewSession,
    cp_client: ControlPlaneClient,
    settings: Settings,
    llm_double: OpenAICompatibleLLMDouble,
) -> None:
    settings = llm_settings(settings, llm_double)
    assert settings.llm.enabled
    limit = settings.agent.max_follow_ups
    created = await new_session(duration_minutes=14)  # two planned questions
    plan = plan_by_rules(created.session, default_question_bank())
    assert len(plan.questions) == 2
    harness = llm_harness(created, plan, settings, cp_client)
    async with harness as h:
        await h.wait_for_agent_lines(1)
        answers = 0
        while h.interview.flow.current_node != WRAP_UP and answers < 20:
            answers += 1
            before = len(h.agent_lines)
            await h.candidate_says(f"Candidate answer number {answers}.")
            await h.wait_for_agent_lines(before + 1)
        assert await h.finished() == "interview_finished"

    expected_question_nodes = []
    for q in (1, 2):
        expected_question_nodes.append(f"question_{q}")
        expected_question_nodes += [f"question_{q}_follow_up_{k}" for k in range(1, limit + 1)]
    assert h.interview.flow.visited == [
        "greeting",
        "warm_up",
        *expected_question_nodes,
        "candidate_questions",
        WRAP_UP,
    ]
    # Once the limit is used up, the model is no longer offered ask_follow_up on that question.
    offered = [("ask_follow_up" in tool_names(r)) for r in llm_double.requests if last_role(r) == "user"]
    assert offered.count(True) == 2 * limit
    # The whole conversation stays in the context: the last request carries every candidate answer.
    final_messages = " ".join(str(m.get("content")) for m in llm_double.requests[-1]["messages"])
    assert all(f"Candidate answer number {n}." in final_messages for n in range(1, answers + 1))
    # The planned question and the persona reached the model.
    all_text = " ".join(str(m.get("content")) for r in llm_double.requests for m in r["messages"])
    assert plan.questions[0].text in all_text
    assert "technical interviewer" in all_text


async def test_llm_mode_declined_consent_ends_politely(
    new_session: NewSession,
    cp_client: ControlPlaneClient,
    settings: Settings,
    llm_double: OpenAICompatibleLLMDouble,
) -> None:
    def declining(request: dict[str, Any]) -> Reply:
        if last_role(request) == "user" and "record_consent" in tool_names(request):
            return Reply(tool_calls=(ToolCall("record_consent", {"answer": "decline"}),))
        return Reply(text="Understood, goodbye.")

    llm_double.policy = declining
    settings = llm_settings(settings, llm_double)
    created = await new_session()
    plan = plan_by_rules(created.session, default_question_bank())
    harness = llm_harness(created, plan, settings, cp_client)
    async with harness as h:
        await h.wait_for_agent_lines(1)
        await h.candidate_says("No, I'd rather not.")
        assert await h.finished() == "interview_finished"
    assert h.interview.flow.visited == ["greeting", WRAP_UP]
    assert h.interview.flow.wrap_up_reason == "consent_declined"


async def test_a_server_other_than_openai_gets_the_flows_instructions_as_user_messages(
    new_session: NewSession,
    cp_client: ControlPlaneClient,
    settings: Settings,
    llm_double: OpenAICompatibleLLMDouble,
) -> None:
    """Ollama drops "developer" messages and some llama.cpp builds refuse them: a local server must
    receive the node's task in a role every OpenAI-compatible server reads."""
    settings = llm_settings(settings, llm_double, developer_role=None)
    assert not settings.llm.uses_developer_role
    created = await new_session()
    plan = plan_by_rules(created.session, default_question_bank())
    harness = llm_harness(created, plan, settings, cp_client)
    async with harness as h:
        await h.wait_for_agent_lines(1)
    greeting = llm_double.requests[0]["messages"]
    assert "developer" not in {m["role"] for m in greeting}
    assert any(m["role"] == "user" and "consent" in str(m["content"]).lower() for m in greeting), greeting
    assert greeting[0]["role"] == "system"
    assert "technical interviewer" in str(greeting[0]["content"])


@pytest.mark.parametrize(
    ("base_url", "uses_developer_role"),
    [(None, True), ("https://api.openai.com/v1", True), ("http://127.0.0.1:11434/v1", False)],
)
def test_the_developer_role_is_used_only_with_openais_own_api(
    base_url: str | None, uses_developer_role: bool
) -> None:
    llm = LLMSettings(api_key="k", base_url=base_url, developer_role=None)
    assert llm.uses_developer_role is uses_developer_role
    assert LLMSettings(api_key="k", base_url=base_url, developer_role=True).uses_developer_role


# ------------------------------------------------------------------ dialogue acts (issue 13)
# The double plays a model that hears what each candidate turn does and says so through the flow's
# functions; the flow must act on those calls: keep the node, re-ask, give time, repeat, or move on.
DECISIONS: dict[str, ToolCall] = {
    "Hello? Can you hear me?": ToolCall("record_consent", {"answer": "unclear"}),
    "Wait, who will see this recording?": ToolCall("record_consent", {"answer": "unclear"}),
    "Okay then.": ToolCall("record_consent", {"consent": True}),  # an old-style call: not consent
    "Yes, maybe.": ToolCall("record_consent", {"answer": "probably"}),  # outside the enum: not consent
    "I object to being recorded.": ToolCall("record_consent", {"answer": "decline"}),
    "Sure, go ahead.": ToolCall("record_consent", {"answer": "agree"}),
    "Hmm, let me think about that for a moment.": ToolCall("give_time"),
    "Give me a second to think.": ToolCall("give_time"),
    "Sorry, what did you say?": ToolCall("repeat_question"),
}
CONSENT_AGAIN = "Only the hiring team sees the transcript. Is that okay with you?"


def listening_interviewer(request: dict[str, Any]) -> Reply:
    messages = request["messages"]
    result = function_result(request)
    if isinstance(result, dict):
        # A function that keeps the node has returned: speak as its result asks.
        if result.get("status") == "waiting":
            return Reply(text="Of course, take your time.")
        if "question" in result:
            return Reply(text=f"Sure. {result['question']}")
        if result.get("consent") == "not given yet":
            return Reply(text=CONSENT_AGAIN)
        return Reply(text="Interviewer speaking.")
    if last_role(request) != "user":
        return Reply(text="Interviewer speaking.")
    said = str(messages[-1]["content"])
    if said in DECISIONS:
        return Reply(tool_calls=(DECISIONS[said],))
    for name in ("finish_warm_up", "finish_question", "finish_candidate_questions"):
        if name in tool_names(request):
            return Reply(text="Thank you.", tool_calls=(ToolCall(name),))
    return Reply(text="Goodbye.")


def offered(request: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t["function"] for t in request.get("tools") or [] if t["function"]["name"] == name)


async def test_llm_mode_consent_is_given_only_by_an_agree_call(
    new_session: NewSession,
    cp_client: ControlPlaneClient,
    settings: Settings,
    llm_double: OpenAICompatibleLLMDouble,
) -> None:
    llm_double.policy = listening_interviewer
    settings = llm_settings(settings, llm_double)
    created = await new_session()
    plan = plan_by_rules(created.session, default_question_bank())
    async with llm_harness(created, plan, settings, cp_client) as h:
        await h.wait_for_agent_lines(1)
        schema = offered(llm_double.requests[0], "record_consent")["parameters"]
        assert schema["properties"]["answer"]["enum"] == ["agree", "decline", "unclear"]
        assert schema["required"] == ["answer"]

        for number, turn in enumerate(
            ["Hello? Can you hear me?", "Wait, who will see this recording?", "Okay then.", "Yes, maybe."],
            start=2,
        ):
            await h.candidate_says(turn, then_agent_lines=number)
            assert h.agent_lines[-1] == CONSENT_AGAIN, turn
            assert h.interview.flow.current_node == GREETING
        # The model was told not to start and to answer honestly: who sees the transcript.
        instruction = function_result(llm_double.requests[-1])["instruction"]
        assert "hiring team" in instruction
        assert "Do not start" in instruction

        await h.candidate_says("Sure, go ahead.", then_agent_lines=6)
        await h.wait_until_node("warm_up")
    assert h.interview.flow.visited == [GREETING, "warm_up"]


async def test_llm_mode_an_objection_declines(
    new_session: NewSession,
    cp_client: ControlPlaneClient,
    settings: Settings,
    llm_double: OpenAICompatibleLLMDouble,
) -> None:
    llm_double.policy = listening_interviewer
    settings = llm_settings(settings, llm_double)
    created = await new_session()
    plan = plan_by_rules(created.session, default_question_bank())
    async with llm_harness(created, plan, settings, cp_client) as h:
        await h.wait_for_agent_lines(1)
        await h.candidate_says("Hello? Can you hear me?", then_agent_lines=2)
        await h.candidate_says("I object to being recorded.")
        assert await h.finished() == "interview_finished"
    assert h.interview.flow.visited == [GREETING, WRAP_UP]
    assert h.interview.flow.wrap_up_reason == "consent_declined"


async def test_llm_mode_time_and_repeat_keep_the_question_open(
    new_session: NewSession,
    cp_client: ControlPlaneClient,
    settings: Settings,
    llm_double: OpenAICompatibleLLMDouble,
) -> None:
    llm_double.policy = listening_interviewer
    settings = llm_settings(settings, llm_double)
    created = await new_session(duration_minutes=20)
    plan = plan_by_rules(created.session, default_question_bank())
    async with llm_harness(created, plan, settings, cp_client) as h:
        await h.wait_for_agent_lines(1)
        await h.candidate_says("Sure, go ahead.", then_agent_lines=2)
        await h.candidate_says("I build payment services.", then_agent_lines=4)
        await h.wait_until_node("question_1")
        assert {"give_time", "repeat_question"} <= set(tool_names(llm_double.requests[-1]))

        await h.candidate_says("Hmm, let me think about that for a moment.", then_agent_lines=5)
        assert h.agent_lines[-1] == "Of course, take your time."
        assert h.interview.flow.thinking_pause_granted
        await h.candidate_says("Give me a second to think.", then_agent_lines=6)
        assert h.agent_lines[-1] == "Of course, take your time."
        await h.candidate_says("Sorry, what did you say?", then_agent_lines=7)
        # repeat_question hands the model the open question, which it says again.
        assert h.agent_lines[-1] == f"Sure. Question 1. {plan.questions[0].text}"
        assert h.interview.flow.current_node == "question_1"
        assert not h.interview.flow.thinking_pause_granted

        await h.candidate_says(
            "I think the main trade-off is consistency versus latency.", then_agent_lines=9
        )
        await h.wait_until_node("question_2")
    assert h.interview.flow.visited == [GREETING, "warm_up", "question_1", "question_2"]
