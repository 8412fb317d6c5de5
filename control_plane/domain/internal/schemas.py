from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec


class SegmentIn(msgspec.Struct, forbid_unknown_fields=True):
    seq: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
    speaker: Literal["candidate", "agent"]
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]
    start_ms: Annotated[int, msgspec.Meta(ge=0)]
    end_ms: Annotated[int, msgspec.Meta(ge=0)]
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
