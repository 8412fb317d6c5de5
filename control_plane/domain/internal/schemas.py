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


# The agent's own words for why an interview ended (agent.job.session_end_reason): lower-case snake case, so a
# newer agent's reason is stored rather than refused.
EndReason = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-z][a-z_]{0,31}$",
        max_length=32,
        examples=["completed", "time_up", "candidate_left"],
        description="Why the interview ended, e.g. completed, consent_declined, time_up, candidate_left",
    ),
]


class CompletionIn(msgspec.Struct, forbid_unknown_fields=True):
    end_reason: EndReason | None = None


class StoredOut(msgspec.Struct):
    stored: int


class StatusOut(msgspec.Struct):
    session_id: str
    status: str
