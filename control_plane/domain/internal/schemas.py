from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

MAX_OFFSET_MS = 2**31 - 1


class SegmentIn(msgspec.Struct, forbid_unknown_fields=True):
    seq: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
    speaker: Literal["candidate", "agent"]
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]
    # The columns are 32-bit integers: about 24 days of milliseconds, far beyond any interview.
    start_ms: Annotated[int, msgspec.Meta(ge=0, le=MAX_OFFSET_MS)]
    end_ms: Annotated[int, msgspec.Meta(ge=0, le=MAX_OFFSET_MS)]
    metrics: dict[str, Any] | None = None


class SegmentBatch(msgspec.Struct, forbid_unknown_fields=True):
    segments: Annotated[list[SegmentIn], msgspec.Meta(min_length=1, max_length=500)]


class FailureIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class StoredOut(msgspec.Struct):
    stored: int


class StatusOut(msgspec.Struct):
    session_id: str
    status: str
