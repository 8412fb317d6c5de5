from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import UUIDAuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.db.models._enums import SessionStatus, check_in


class InterviewSession(UUIDAuditBase):
    __tablename__ = "interview_sessions"
    __table_args__ = (
        CheckConstraint(check_in("status", SessionStatus), name="status"),
        CheckConstraint("planned_duration_minutes BETWEEN 5 AND 120", name="duration"),
    )

    owner_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role_title: Mapped[str] = mapped_column(String(120))
    seniority: Mapped[str] = mapped_column(String(32))
    topics: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    language: Mapped[str] = mapped_column(String(16), default="en")
    planned_duration_minutes: Mapped[int] = mapped_column(Integer)
    room_name: Mapped[str] = mapped_column(String(96), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.CREATED.value, index=True)
    live_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    failed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    failure_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # Why a completed interview ended (`completed`, `time_up`, `candidate_left`, `room_closed`, ...): the
    # agent's reason, or `room_closed` when LiveKit closed the room first. None until it completes.
    end_reason: Mapped[str | None] = mapped_column(String(32), default=None)
