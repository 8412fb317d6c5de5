from __future__ import annotations

from enum import StrEnum


class UserRole(StrEnum):
    CANDIDATE = "candidate"
    RECRUITER = "recruiter"
    ADMIN = "admin"


class SessionStatus(StrEnum):
    CREATED = "created"
    LIVE = "live"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in {SessionStatus.COMPLETED, SessionStatus.FAILED, SessionStatus.CANCELLED}


class Speaker(StrEnum):
    CANDIDATE = "candidate"
    AGENT = "agent"


class SummaryStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


def check_in(column: str, enum: type[StrEnum]) -> str:
    """SQL for a CHECK constraint that keeps a string column inside an enum's values."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} IN ({values})"
