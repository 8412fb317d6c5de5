from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from control_plane.db import models as m


class SummaryOut(msgspec.Struct):
    session_id: UUID
    status: str
    attempts: int
    last_error: str | None
    # kind "llm_scorecard" (with recommendation and scores) or "offline_statistics" (statistics only).
    scorecard: dict[str, Any] | None
    model: str | None
    enqueued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


def summary_out(summary: m.Summary, *, show_error: bool) -> SummaryOut:
    """`show_error`: errors name our LLM provider and internals, so only staff see them."""
    return SummaryOut(
        session_id=summary.session_id,
        status=summary.status,
        attempts=summary.attempts,
        last_error=summary.last_error if show_error else None,
        scorecard=summary.scorecard,
        model=summary.model,
        enqueued_at=summary.enqueued_at,
        started_at=summary.started_at,
        finished_at=summary.finished_at,
    )
