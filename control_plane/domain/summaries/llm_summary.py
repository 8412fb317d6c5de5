"""The scorecard from an OpenAI-compatible LLM, through LangChain's structured output.

A transcript that fits the context goes to the model in one call. A longer one is cut into chunks whose
notes (with quotes) are collected first (map) and then turned into one scorecard (reduce). Every quote is
checked against the stored transcript and saved as the transcript's own text, never the model's; the
model gets one chance to repair quotes that are not there, after which a score keeps no quote it cannot
back up and is flagged."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, cast

import structlog
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, SecretStr, ValidationError

from control_plane.domain.summaries.evidence import EvidenceChecker
from control_plane.domain.summaries.scorecard import (
    SCORECARD_KIND,
    InterviewScorecard,
    Observation,
    Recommendation,
    TranscriptNotes,
    competency_key,
    required_competencies,
)
from control_plane.domain.summaries.transcript import (
    InterviewTranscript,
    chunk_segments,
    estimate_tokens,
    format_chunk,
    format_segments,
)
from control_plane.settings import LLMSettings

log = structlog.get_logger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)
StructuredMethod = Literal["json_schema", "function_calling"]

MAX_PARALLEL_CALLS = 3
MAX_COLLAPSE_ROUNDS = 4
MIN_TRANSCRIPT_BUDGET = 256

SYSTEM_PROMPT = (
    "You are an experienced technical interviewer writing a fair, evidence-based scorecard of a recorded "
    "interview. Judge only what the candidate said in the transcript. Lines look like "
    "'[12] candidate: text': the number in brackets is the segment number. Evidence must be the candidate's "
    "own words copied exactly from one candidate line, with that line's segment number. Never invent, "
    "paraphrase or combine quotes."
)


class ModelOutputError(Exception):
    """The model's answer is not the structured document we asked for (bad JSON, wrong shape)."""


class LLMConfigurationError(Exception):
    """The LLM settings cannot work (for example a context too small for any transcript)."""


@dataclass(slots=True)
class _Call:
    """One structured request and its answer, kept so a repair can continue the conversation."""

    messages: list[BaseMessage]
    answer: InterviewScorecard


@dataclass(slots=True)
class _Budget:
    context_tokens: int
    output_reserve: int = field(init=False)

    def __post_init__(self) -> None:
        self.output_reserve = min(2000, self.context_tokens // 8)

    def for_text(self, *fixed_parts: str) -> int:
        """Tokens left for transcript or notes after the fixed prompt parts and room for two answers: the
        model's, and that answer sent back with a repair request."""
        fixed = sum(estimate_tokens(part) for part in fixed_parts)
        available = self.context_tokens - 2 * self.output_reserve - fixed
        if available < MIN_TRANSCRIPT_BUDGET:
            raise LLMConfigurationError(
                f"CODEVOICE_LLM_CONTEXT_TOKENS={self.context_tokens} leaves {available} tokens for the "
                "transcript; raise it"
            )
        return available


def build_chat_model(settings: LLMSettings) -> ChatOpenAI:
    return ChatOpenAI(
        model=settings.model,
        base_url=settings.base_url,
        # Local OpenAI-compatible servers accept any key; the client insists on one.
        api_key=SecretStr(settings.api_key or "not-needed"),
        timeout=settings.timeout_s,
        # SAQ retries the whole job with backoff, so Postgres counts every attempt.
        max_retries=0,
        temperature=0,
    )


class LLMScorecardWriter:
    def __init__(self, settings: LLMSettings, chat_model: ChatOpenAI | None = None) -> None:
        if settings.structured_output not in ("json_schema", "function_calling"):
            raise LLMConfigurationError(
                "CODEVOICE_LLM_STRUCTURED_OUTPUT must be json_schema or function_calling, "
                f"not {settings.structured_output!r}"
            )
        self._method = cast("StructuredMethod", settings.structured_output)
        self._model = chat_model or build_chat_model(settings)
        self._model_name = settings.model
        self._budget = _Budget(settings.context_tokens)
        self._runnables: dict[type[BaseModel], Runnable[LanguageModelInput, Any]] = {}

    @property
    def model_name(self) -> str:
        return self._model_name

    async def write(self, transcript: InterviewTranscript) -> dict[str, Any]:
        if not transcript.candidate_segments():
            raise ModelOutputError("the transcript has no candidate speech to assess")
        competencies = required_competencies(transcript.topics)
        instructions = _scorecard_instructions(transcript, competencies)
        budget = self._budget.for_text(SYSTEM_PROMPT, instructions)
        lines = format_segments(transcript.segments)
        chunks = 1
        if estimate_tokens(lines) <= budget:
            call = await self._scorecard([*_opening(instructions), HumanMessage(f"Transcript:\n{lines}")])
        else:
            notes, chunks = await self._notes_for_long_transcript(transcript, competencies)
            call = await self._scorecard(
                [*_opening(instructions), HumanMessage(f"Notes from the whole interview:\n{notes}")]
            )
        checker = EvidenceChecker(transcript.segments)
        problems = _problems(call.answer, competencies, checker)
        repairs = 0
        if problems:
            repairs = 1
            log.info("scorecard_repair_requested", problems=len(problems))
            call = await self._scorecard(
                [
                    *call.messages,
                    AIMessage(call.answer.model_dump_json()),
                    HumanMessage(_repair_request(problems)),
                ]
            )
        return _stored_scorecard(call.answer, competencies, checker, self._model_name, chunks, repairs)

    async def _notes_for_long_transcript(
        self, transcript: InterviewTranscript, competencies: list[str]
    ) -> tuple[str, int]:
        map_instructions = _notes_instructions(transcript, competencies)
        budget = self._budget.for_text(SYSTEM_PROMPT, map_instructions)
        chunks = chunk_segments(transcript.segments, budget)
        log.info("transcript_chunked", chunks=len(chunks), budget_tokens=budget)
        results = await _gather_bounded(
            *(
                self._structured(
                    TranscriptNotes,
                    [
                        *_opening(map_instructions),
                        HumanMessage(f"Transcript part:\n{format_chunk(chunk, budget)}"),
                    ],
                )
                for chunk in chunks
            )
        )
        observations = [o for notes in results for o in notes.observations]
        reduce_budget = self._budget.for_text(
            SYSTEM_PROMPT, _scorecard_instructions(transcript, competencies)
        )
        for _ in range(MAX_COLLAPSE_ROUNDS):
            text = _format_observations(observations)
            if estimate_tokens(text) <= reduce_budget:
                return text, len(chunks)
            observations = await self._condense(observations, map_instructions, budget)
        return _format_observations(observations)[: reduce_budget * 3], len(chunks)

    async def _condense(
        self, observations: Sequence[Observation], instructions: str, budget: int
    ) -> list[Observation]:
        groups: list[list[Observation]] = [[]]
        used = 0
        for observation in observations:
            cost = estimate_tokens(_format_observations([observation]))
            if groups[-1] and used + cost > budget:
                groups.append([])
                used = 0
            groups[-1].append(observation)
            used += cost
        results = await _gather_bounded(
            *(
                self._structured(
                    TranscriptNotes,
                    [
                        *_opening(instructions),
                        HumanMessage(
                            "Condense these notes to the most telling ones, keeping quotes and segment "
                            f"numbers unchanged:\n{_format_observations(group)}"
                        ),
                    ],
                )
                for group in groups
            )
        )
        return [o for notes in results for o in notes.observations]

    async def _scorecard(self, messages: list[BaseMessage]) -> _Call:
        return _Call(messages=messages, answer=await self._structured(InterviewScorecard, messages))

    async def _structured(self, schema: type[ModelT], messages: list[BaseMessage]) -> ModelT:
        runnable = self._runnables.get(schema)
        if runnable is None:
            # Building one converts the schema to JSON Schema; that is worth doing once per process.
            runnable = self._runnables[schema] = self._model.with_structured_output(
                schema, method=self._method
            )
        try:
            answer = await runnable.ainvoke(messages)
        except (OutputParserException, ValidationError, json.JSONDecodeError) as exc:
            raise ModelOutputError(f"{schema.__name__} answer is not valid: {_short(exc)}") from exc
        if not isinstance(answer, schema):
            raise ModelOutputError(f"the model gave no {schema.__name__}")
        return answer


async def _gather_bounded(*calls: Awaitable[ModelT]) -> list[ModelT]:
    """Run a job's map calls concurrently, but no more than MAX_PARALLEL_CALLS at once."""
    semaphore = asyncio.Semaphore(MAX_PARALLEL_CALLS)

    async def bounded(call: Awaitable[ModelT]) -> ModelT:
        async with semaphore:
            return await call

    return list(await asyncio.gather(*(bounded(call) for call in calls)))


def _opening(instructions: str) -> list[BaseMessage]:
    return [SystemMessage(SYSTEM_PROMPT), HumanMessage(instructions)]


def _scorecard_instructions(transcript: InterviewTranscript, competencies: list[str]) -> str:
    names = "\n".join(f"- {name}" for name in competencies)
    values = ", ".join(r.value for r in Recommendation)
    return (
        f"Role: {transcript.role_title} ({transcript.seniority}).\n"
        "Score each of these competencies from 1 (poor) to 5 (excellent), using these exact names:\n"
        f"{names}\n"
        "For each score give one piece of evidence: a quote of the candidate's own words, copied exactly, "
        "with the segment number of the line it comes from.\n"
        f"Then give an overall recommendation (one of: {values}), the candidate's strengths, areas to "
        "improve, and a short narrative summary."
    )


def _notes_instructions(transcript: InterviewTranscript, competencies: list[str]) -> str:
    names = ", ".join(competencies)
    return (
        f"This is one part of a long interview for the role {transcript.role_title} "
        f"({transcript.seniority}). Write notes on what this part shows about these competencies: {names}. "
        "Each note cites one quote of the candidate's own words, copied exactly, with its segment number. "
        "Write at most twelve notes; skip competencies this part says nothing about."
    )


def _format_observations(observations: Sequence[Observation]) -> str:
    return "\n".join(f'[{o.segment}] ({o.competency}) {o.note} — quote: "{o.quote}"' for o in observations)


def _problems(answer: InterviewScorecard, competencies: list[str], checker: EvidenceChecker) -> list[str]:
    problems: list[str] = []
    scored = {competency_key(c.competency) for c in answer.competencies}
    problems.extend(
        f"The competency '{name}' has no score."
        for name in competencies
        if competency_key(name) not in scored
    )
    for item in answer.competencies:
        if checker.locate(item.evidence.quote, item.evidence.segment) is None:
            problems.append(
                f"The quote for '{item.competency}' is not in candidate segment {item.evidence.segment} "
                f'nor in any other candidate line: "{item.evidence.quote}".'
            )
    return problems


def _repair_request(problems: list[str]) -> str:
    listed = "\n".join(f"- {p}" for p in problems)
    return (
        f"Your scorecard has these problems:\n{listed}\n"
        "Answer again with the complete scorecard. Every quote must be copied exactly from a candidate line "
        "of the transcript, with that line's segment number; choose other evidence if needed."
    )


def _stored_scorecard(
    answer: InterviewScorecard,
    competencies: list[str],
    checker: EvidenceChecker,
    model_name: str,
    chunks: int,
    repairs: int,
) -> dict[str, Any]:
    wanted = {competency_key(name): name for name in competencies}
    flags: list[str] = []
    scores: list[dict[str, Any]] = []
    for item in answer.competencies:
        key = competency_key(item.competency)
        if key not in wanted:
            flags.append(f"Dropped a score for '{item.competency}', which was not asked for.")
            continue
        name = wanted.pop(key)
        located = checker.locate(item.evidence.quote, item.evidence.segment)
        if located is None:
            evidence: dict[str, Any] | None = None
            status = "rejected_not_in_transcript"
            flags.append(
                f"The score for '{name}' is saved without its quote: the quote is not in the transcript."
            )
        else:
            evidence = {"segment": located.segment, "quote": located.quote}
            status = "verified" if located.cited_correctly else "verified_segment_corrected"
        scores.append(
            {
                "competency": name,
                "score": item.score,
                "rationale": item.rationale,
                "evidence": evidence,
                "evidence_status": status,
            }
        )
    missing = list(wanted.values())
    flags.extend(f"No score for '{name}'." for name in missing)
    return {
        "kind": SCORECARD_KIND,
        "model": model_name,
        "generated_at": datetime.now(UTC).isoformat(),
        "recommendation": answer.recommendation.value,
        "competencies": scores,
        "missing_competencies": missing,
        "strengths": answer.strengths,
        "areas_to_improve": answer.areas_to_improve,
        "summary": answer.summary,
        "flags": flags,
        "transcript_chunks": chunks,
        "repair_rounds": repairs,
    }


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + "…"
