"""The transcript as the summarisers see it: plain segments, formatted for prompts and cut into chunks
that fit the model's context."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from control_plane.db import models as m

# No tokenizer download at run time (tiktoken fetches its tables), so estimate. Three characters per token
# over-counts English (about four), which errs on the side of chunks that fit.
CHARS_PER_TOKEN = 3


@dataclass(frozen=True, slots=True)
class Segment:
    seq: int
    speaker: str
    text: str
    start_ms: int
    end_ms: int
    question_id: str | None = None

    @property
    def is_candidate(self) -> bool:
        return self.speaker == m.Speaker.CANDIDATE.value

    @property
    def duration_ms(self) -> int:
        return max(0, self.end_ms - self.start_ms)


@dataclass(frozen=True, slots=True)
class InterviewTranscript:
    role_title: str
    seniority: str
    topics: list[str]
    segments: list[Segment]

    def candidate_segments(self) -> list[Segment]:
        return [s for s in self.segments if s.is_candidate]

    def by_seq(self) -> dict[int, Segment]:
        return {s.seq: s for s in self.segments}


def from_models(session: m.InterviewSession, rows: Iterable[m.TranscriptSegment]) -> InterviewTranscript:
    segments = [
        Segment(
            seq=row.seq,
            speaker=row.speaker,
            text=row.text,
            start_ms=row.start_ms,
            end_ms=row.end_ms,
            question_id=_question_id(row.metrics),
        )
        for row in sorted(rows, key=lambda r: r.seq)
    ]
    return InterviewTranscript(
        role_title=session.role_title,
        seniority=session.seniority,
        topics=list(session.topics),
        segments=segments,
    )


def _question_id(metrics: dict[str, object] | None) -> str | None:
    value = (metrics or {}).get("question_id")
    return value if isinstance(value, str) else None


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def format_segment(segment: Segment, max_chars: int | None = None) -> str:
    text = " ".join(segment.text.split())
    if max_chars is not None and len(text) > max_chars:
        # Quotes are checked against the stored text, so a shortened line only costs the model context.
        text = text[:max_chars] + " …"
    return f"[{segment.seq}] {segment.speaker}: {text}"


def format_segments(segments: Sequence[Segment]) -> str:
    return "\n".join(format_segment(s) for s in segments)


def chunk_segments(segments: Sequence[Segment], budget_tokens: int) -> list[list[Segment]]:
    """Consecutive segments grouped so each group's formatted lines fit `budget_tokens`. A single segment
    longer than the budget gets a chunk of its own (its line is shortened when formatted)."""
    if budget_tokens <= 0:
        raise ValueError("chunk budget must be positive")
    chunks: list[list[Segment]] = []
    current: list[Segment] = []
    used = 0
    for segment in segments:
        cost = estimate_tokens(format_segment(segment)) + 1
        if current and used + cost > budget_tokens:
            chunks.append(current)
            current, used = [], 0
        current.append(segment)
        used += cost
    if current:
        chunks.append(current)
    return chunks


def format_chunk(segments: Sequence[Segment], budget_tokens: int) -> str:
    if len(segments) == 1:
        return format_segment(segments[0], max_chars=budget_tokens * CHARS_PER_TOKEN)
    return format_segments(segments)
