"""The summary worker end to end: real worker processes, Postgres, Redis, and the LLM double."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from saq import Queue

from control_plane.db import models as m
from control_plane.domain.summaries.queue import enqueue_summary
from control_plane.lib.db import get_alchemy_config
from tests.summaries.conftest import WorkerProcesses
from tests.summaries.interviews import create_interview, wait_for_summary
from tests.summaries.llm_double import (
    ChatRequest,
    OpenAICompatibleLLMDouble,
    RawContent,
    Reply,
    Structured,
    honest_answer,
    honest_scorecard,
)

DONE = m.SummaryStatus.DONE
FAILED = m.SummaryStatus.FAILED


async def request_summary(queue: Queue, session_id: object) -> m.Summary:
    async with get_alchemy_config().get_session() as db:
        summary = await enqueue_summary(db, queue, session_id)  # type: ignore[arg-type]
        await db.commit()
        return summary


@pytest.mark.parametrize("structured_output", ["json_schema", "function_calling"])
async def test_scorecard_is_written_with_verified_evidence(
    workers: WorkerProcesses,
    summary_queue: Queue,
    llm_double: OpenAICompatibleLLMDouble,
    structured_output: str,
) -> None:
    session_id, tag = await create_interview()
    workers.start(CODEVOICE_LLM_STRUCTURED_OUTPUT=structured_output)

    pending = await request_summary(summary_queue, session_id)
    assert pending.status == m.SummaryStatus.PENDING

    summary = await wait_for_summary(session_id, DONE, FAILED)
    assert summary.status == DONE, workers.logs()
    assert summary.attempts == 1
    assert summary.model == "double-model"
    card = summary.scorecard
    assert card is not None
    assert card["kind"] == "llm_scorecard"
    assert card["recommendation"] == "yes"
    assert [c["competency"] for c in card["competencies"]] == [
        "communication",
        "technical depth",
        "problem solving",
        "python",
        "databases",
    ]
    for score in card["competencies"]:
        assert 1 <= score["score"] <= 5
        assert score["evidence_status"] == "verified"
        assert score["evidence"]["segment"] in {1, 3, 5}
    assert card["strengths"] == ["Clear explanations"]
    assert card["areas_to_improve"] == ["More detail on trade-offs"]
    assert card["summary"].startswith("A solid interview")
    assert card["flags"] == []
    requests = llm_double.requests_for(tag)
    assert len(requests) == 1
    assert requests[0].wants_tool_call == (structured_output == "function_calling")


def misbehave_first(tag: str, first: Reply) -> object:
    """A responder that gives `first` to the first scorecard request about `tag`, then behaves."""
    seen: list[ChatRequest] = []

    def respond(request: ChatRequest) -> Reply:
        if tag in request.text:
            seen.append(request)
            if len(seen) == 1:
                return first
        return honest_answer(request)

    return respond


INVENTED_QUOTE = "I once rewrote the Linux kernel in a weekend"


def with_invented_quote(request: ChatRequest) -> dict[str, object]:
    card = honest_scorecard(request)
    card["competencies"][0]["evidence"] = {"segment": 1, "quote": INVENTED_QUOTE}  # type: ignore[index]
    return card


async def summarised_with(
    workers: WorkerProcesses,
    summary_queue: Queue,
    llm_double: OpenAICompatibleLLMDouble,
    responder: Callable[[ChatRequest], Reply],
    **worker_env: str,
) -> tuple[Any, str]:
    """One interview summarised by a real worker whose model answers through `responder`; the summary
    must end `done`."""
    session_id, tag = await create_interview()
    llm_double.responder = responder
    workers.start(**worker_env)
    await request_summary(summary_queue, session_id)
    summary = await wait_for_summary(session_id, DONE, FAILED)
    assert summary.status == DONE, workers.logs()
    return summary, tag


async def test_invalid_json_answer_is_retried(
    workers: WorkerProcesses, summary_queue: Queue, llm_double: OpenAICompatibleLLMDouble
) -> None:
    session_id, tag = await create_interview()
    llm_double.responder = misbehave_first(tag, RawContent('{"recommendation": "yes", "competen'))  # type: ignore[assignment]
    workers.start()

    await request_summary(summary_queue, session_id)

    summary = await wait_for_summary(session_id, DONE, FAILED)
    assert summary.status == DONE, workers.logs()
    assert summary.attempts == 2
    assert summary.last_error is not None
    assert "ModelOutputError" in summary.last_error
    assert len(llm_double.requests_for(tag)) == 2


async def test_llm_timeout_is_retried(
    workers: WorkerProcesses, summary_queue: Queue, llm_double: OpenAICompatibleLLMDouble
) -> None:
    session_id, tag = await create_interview()
    # The first answer would take a minute; the worker waits CODEVOICE_LLM_TIMEOUT_S=3 seconds per call.
    first = Structured({"never": "read"}, delay_s=60)
    llm_double.responder = misbehave_first(tag, first)  # type: ignore[assignment]
    workers.start(CODEVOICE_LLM_TIMEOUT_S="3")

    await request_summary(summary_queue, session_id)

    summary = await wait_for_summary(session_id, DONE, FAILED)
    assert summary.status == DONE, workers.logs()
    # At least the first attempt timed out (on a very loaded machine a later one might too).
    assert summary.attempts >= 2
    assert summary.last_error is not None
    assert "Timeout" in summary.last_error
    assert len(llm_double.requests_for(tag)) == summary.attempts


async def test_invented_quote_is_repaired_when_the_model_corrects_it(
    workers: WorkerProcesses, summary_queue: Queue, llm_double: OpenAICompatibleLLMDouble
) -> None:

    def respond(request: ChatRequest) -> Reply:
        asked_to_repair = "Your scorecard has these problems" in request.text
        return Structured(honest_scorecard(request) if asked_to_repair else with_invented_quote(request))

    summary, tag = await summarised_with(workers, summary_queue, llm_double, respond)
    assert summary.scorecard is not None
    assert INVENTED_QUOTE not in json.dumps(summary.scorecard)
    assert all(c["evidence_status"] == "verified" for c in summary.scorecard["competencies"])
    assert summary.scorecard["repair_rounds"] == 1
    repair_request = llm_double.requests_for(tag)[-1]
    assert INVENTED_QUOTE in repair_request.text


async def test_invented_quote_is_never_stored(
    workers: WorkerProcesses, summary_queue: Queue, llm_double: OpenAICompatibleLLMDouble
) -> None:
    summary, tag = await summarised_with(
        workers, summary_queue, llm_double, lambda request: Structured(with_invented_quote(request))
    )
    card = summary.scorecard
    assert card is not None
    assert INVENTED_QUOTE.lower() not in json.dumps(card).lower()
    communication = card["competencies"][0]
    assert communication["competency"] == "communication"
    assert communication["evidence"] is None
    assert communication["evidence_status"] == "rejected_not_in_transcript"
    assert any("communication" in flag for flag in card["flags"])
    assert all(c["evidence_status"] == "verified" for c in card["competencies"][1:])
    # Asked once, then asked to repair once: the model does not get to argue forever.
    assert len(llm_double.requests_for(tag)) == 2


RECASED_QUOTE = "FOR NETWORK BOUND WORK I REACH FOR ASYNCIO"
ELIDED_QUOTE = "I run explain analyze ... add an index"


def with_reworded_quotes(request: ChatRequest) -> dict[str, object]:
    card = honest_scorecard(request)
    competencies = card["competencies"]
    competencies[0]["evidence"] = {"segment": 1, "quote": RECASED_QUOTE}  # type: ignore[index]
    competencies[1]["evidence"] = {"segment": 3, "quote": ELIDED_QUOTE}  # type: ignore[index]
    return card


async def test_quotes_are_stored_as_the_transcript_has_them_and_elisions_are_rejected(
    workers: WorkerProcesses, summary_queue: Queue, llm_double: OpenAICompatibleLLMDouble
) -> None:
    summary, tag = await summarised_with(
        workers, summary_queue, llm_double, lambda request: Structured(with_reworded_quotes(request))
    )
    card = summary.scorecard
    assert card is not None
    communication, depth = card["competencies"][:2]
    assert communication["evidence"] == {"segment": 1, "quote": "For network-bound work I reach for asyncio"}
    assert communication["evidence_status"] == "verified"
    assert RECASED_QUOTE not in json.dumps(card)
    # The words are in segment 3 in this order, but not next to each other: not evidence.
    assert depth["evidence"] is None
    assert depth["evidence_status"] == "rejected_not_in_transcript"
    assert ELIDED_QUOTE not in json.dumps(card)
    assert any("technical depth" in flag for flag in card["flags"])
    requests = llm_double.requests_for(tag)
    assert len(requests) == 2
    assert ELIDED_QUOTE in requests[-1].text
    assert RECASED_QUOTE not in requests[-1].text.split("Your scorecard has these problems", 1)[1]


async def test_long_transcript_is_summarised_in_chunks(
    workers: WorkerProcesses, summary_queue: Queue, llm_double: OpenAICompatibleLLMDouble
) -> None:
    turns: list[tuple[str, str]] = []
    for i in range(40):
        turns.append(("agent", f"Question {i}: how would you handle load spike number {i}?"))
        turns.append(
            ("candidate", f"For spike {i} I would measure first, then scale the slowest tier, then check.")
        )
    session_id, tag = await create_interview(turns)
    workers.start(CODEVOICE_LLM_CONTEXT_TOKENS="1600")

    await request_summary(summary_queue, session_id)

    summary = await wait_for_summary(session_id, DONE, FAILED)
    assert summary.status == DONE, workers.logs()
    assert summary.scorecard is not None
    assert summary.scorecard["transcript_chunks"] > 1
    requests = llm_double.requests_for(tag)
    assert [r.schema_name for r in requests].count("InterviewScorecard") == 1
    assert {r.schema_name for r in requests} == {"TranscriptNotes", "InterviewScorecard"}
    for request in requests:
        # Every prompt stayed inside the configured context (3 characters per token is our estimate).
        assert len(request.text) / 3 <= 1600
    assert all(c["evidence_status"] == "verified" for c in summary.scorecard["competencies"])


async def test_without_an_llm_the_summary_is_offline_statistics(
    workers: WorkerProcesses, summary_queue: Queue, llm_double: OpenAICompatibleLLMDouble
) -> None:
    session_id, _ = await create_interview()
    workers.start(CODEVOICE_LLM_BASE_URL="")

    await request_summary(summary_queue, session_id)

    summary = await wait_for_summary(session_id, DONE, FAILED)
    assert summary.status == DONE, workers.logs()
    assert summary.model is None
    card = summary.scorecard
    assert card is not None
    assert card["kind"] == "offline_statistics"
    assert "No AI model assessed this interview" in card["label"]
    assert "recommendation" not in card
    assert "competencies" not in card
    assert card["answers"]["count"] == 3
    assert 0 < card["talk_time"]["candidate_share"] < 1
    assert [q["question_id"] for q in card["questions_covered"]] == ["py-gil-concurrency"]
    assert card["questions_covered"][0]["answer_words"] > 20
    terms = [t["term"] for t in card["key_terms"]]
    assert "asyncio" in terms
    assert llm_double.requests == []
