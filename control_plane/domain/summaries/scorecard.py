"""The scorecard the LLM is asked for (pydantic, because LangChain's structured output speaks pydantic)
and the JSON document we store. The stored document is built by our code, never copied from the model."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field

# Every session is scored on these, plus the session's own topics.
CORE_COMPETENCIES: tuple[str, ...] = ("communication", "technical depth", "problem solving")

SCORECARD_KIND = "llm_scorecard"


class Recommendation(StrEnum):
    STRONG_NO = "strong_no"
    NO = "no"
    MIXED = "mixed"
    YES = "yes"
    STRONG_YES = "strong_yes"


class Evidence(BaseModel):
    segment: int = Field(description="The [number] of the transcript segment the quote is taken from")
    quote: str = Field(description="Words the candidate said, copied exactly from that segment")


class CompetencyScore(BaseModel):
    competency: str = Field(description="The competency's name, exactly as listed in the instructions")
    score: Annotated[int, Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")]
    evidence: Evidence
    rationale: str = Field(description="One or two sentences on why the evidence earns this score")


class InterviewScorecard(BaseModel):
    """A structured assessment of one interview."""

    recommendation: Recommendation
    competencies: list[CompetencyScore]
    strengths: list[str]
    areas_to_improve: list[str]
    summary: str = Field(description="A short narrative summary of the interview, three to five sentences")


class Observation(BaseModel):
    competency: str
    note: str = Field(description="What this part of the interview shows about the competency")
    segment: int
    quote: str = Field(description="Words the candidate said, copied exactly from that segment")


class TranscriptNotes(BaseModel):
    """Notes on one part of a long interview, to be combined into a scorecard later."""

    observations: list[Observation]


def required_competencies(topics: list[str]) -> list[str]:
    """The core competencies, then the session's topics, without duplicates (case-insensitive)."""
    names: list[str] = []
    seen: set[str] = set()
    for name in (*CORE_COMPETENCIES, *topics):
        key = competency_key(name)
        if key and key not in seen:
            seen.add(key)
            names.append(name.strip())
    return names


def competency_key(name: str) -> str:
    return " ".join(name.lower().replace("_", " ").replace("-", " ").split())
