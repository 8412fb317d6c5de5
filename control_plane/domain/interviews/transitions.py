"""The interview session state machine: created -> live -> completed | failed | cancelled."""

from __future__ import annotations

from datetime import UTC, datetime

from control_plane.db import models as m
from control_plane.lib.problems import ConflictError

S = m.SessionStatus

ALLOWED: dict[S, frozenset[S]] = {
    S.CREATED: frozenset({S.LIVE, S.COMPLETED, S.FAILED, S.CANCELLED}),
    S.LIVE: frozenset({S.COMPLETED, S.FAILED, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}

_TIMESTAMP = {
    S.LIVE: "live_at",
    S.COMPLETED: "completed_at",
    S.FAILED: "failed_at",
    S.CANCELLED: "cancelled_at",
}


def transition(session: m.InterviewSession, target: S, *, reason: str | None = None) -> bool:
    """Move `session` to `target`. Returns False when it is already there (a retried call is a no-op);
    raises 409 when the move is illegal."""
    current = S(session.status)
    if current == target:
        return False
    if target not in ALLOWED[current]:
        raise ConflictError(detail=f"Session is {current.value}; it cannot become {target.value}")
    session.status = target.value
    setattr(session, _TIMESTAMP[target], datetime.now(UTC))
    if target == S.FAILED:
        session.failure_reason = reason
    return True
