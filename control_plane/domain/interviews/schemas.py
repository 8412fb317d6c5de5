from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal
from uuid import UUID

import msgspec

Topic = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
SUPPORTED_LANGUAGES: Final = ("en",)
Seniority = Literal["intern", "junior", "mid", "senior", "staff", "principal"]


class SessionCreate(msgspec.Struct, forbid_unknown_fields=True):
    role_title: Annotated[str, msgspec.Meta(min_length=2, max_length=120)]
    seniority: Seniority
    topics: Annotated[list[Topic], msgspec.Meta(min_length=1, max_length=8)]
    language: Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] = "en"
    planned_duration_minutes: Annotated[int, msgspec.Meta(ge=5, le=120)] = 20

    def __post_init__(self) -> None:
        # The question bank, the interviewer's prompts and the offline speech models are English only;
        # refusing here beats an English interview for a candidate who asked for another language.
        if self.language.split("-")[0] not in SUPPORTED_LANGUAGES:
            raise ValueError(
                f"Interviews are available in {', '.join(SUPPORTED_LANGUAGES)} only, not {self.language!r}"
            )


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
