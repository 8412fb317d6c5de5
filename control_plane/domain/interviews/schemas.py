from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final, Literal
from uuid import UUID

import msgspec

from control_plane.domain.summaries.scorecard import Recommendation

# Not blank: a name made only of spaces would be stored as an empty string once trimmed. Spelled out, not
# `\S`: Python and JSON Schema (ECMA-262) disagree on \x1c-\x1f, \x85 and \ufeff, so clients validating
# against the OpenAPI document would send what the server refuses.
_NOT_BLANK = r"[^\s\x1c-\x1f\x85\ufeff]"
Topic = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=_NOT_BLANK)]
# The question bank, the interviewer's prompts and the offline speech models are English only: refusing
# another language beats an English interview for a candidate who asked for it.
SUPPORTED_LANGUAGES: Final = ("en",)
LANGUAGE_PATTERN: Final = rf"^(?:{'|'.join(SUPPORTED_LANGUAGES)})(?:-[A-Z]{{2}})?$"
Language = Annotated[
    str,
    msgspec.Meta(
        pattern=LANGUAGE_PATTERN,
        description=f"Interviews are available in {', '.join(SUPPORTED_LANGUAGES)} only (e.g. en, en-GB)",
    ),
]
Seniority = Literal["intern", "junior", "mid", "senior", "staff", "principal"]


class SessionCreate(msgspec.Struct, forbid_unknown_fields=True):
    role_title: Annotated[str, msgspec.Meta(min_length=2, max_length=120, pattern=_NOT_BLANK)]
    seniority: Seniority
    topics: Annotated[list[Topic], msgspec.Meta(min_length=1, max_length=8)]
    language: Language = "en"
    planned_duration_minutes: Annotated[int, msgspec.Meta(ge=5, le=120)] = 20


class SessionOut(msgspec.Struct):
    id: UUID
    owner_id: UUID
    role_title: str
    seniority: str
    topics: list[str]
    language: str
    planned_duration_minutes: int
    room_name: str
    status: str
    created_at: datetime
    live_at: datetime | None
    completed_at: datetime | None
    failed_at: datetime | None
    cancelled_at: datetime | None
    failure_reason: str | None
    end_reason: Annotated[
        str | None,
        msgspec.Meta(
            description=(
                "Why a completed interview ended: `completed` (every question asked), `consent_declined`, "
                "`time_up`, `silence`, `ended_early`, `candidate_left` (the candidate dropped out and did "
                "not rejoin within the grace period), `room_closed` (the room was closed or ended first), "
                "`idle`, ...; null until it completes, and for interviews completed before reasons were kept"
            )
        ),
    ] = None
    # The scorecard's recommendation once an LLM scorecard exists (offline summaries make none).
    recommendation: Recommendation | None = None


class SessionPage(msgspec.Struct):
    items: list[SessionOut]
    total: int
    page: int
    page_size: int


class SegmentOut(msgspec.Struct):
    seq: int
    speaker: str
    text: str
    start_ms: int
    end_ms: int
    metrics: dict[str, Any] | None = None


class TranscriptOut(msgspec.Struct):
    session_id: UUID
    status: str
    segments: list[SegmentOut]


SessionStatusName = Literal["created", "live", "completed", "failed", "cancelled"]


@dataclass(frozen=True)
class SessionFilters:
    """Which sessions a list shows (all optional; combined with AND)."""

    status: SessionStatusName | None = None
    role: str | None = None  # a case-insensitive part of the role title
    recommendation: Recommendation | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
