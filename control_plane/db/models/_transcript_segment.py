from __future__ import annotations

from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDAuditBase
from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.db.models._enums import Speaker, check_in


class TranscriptSegment(UUIDAuditBase):
    __tablename__ = "transcript_segments"
    __table_args__ = (
        # One row per (session, seq): a retried append is a no-op instead of a duplicate.
        UniqueConstraint("session_id", "seq", name="uq_transcript_segments_session_seq"),
        CheckConstraint(check_in("speaker", Speaker), name="speaker"),
        CheckConstraint("end_ms >= start_ms", name="offsets"),
    )

    session_id: Mapped[UUID] = mapped_column(
        ForeignKey("interview_sessions.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    start_ms: Mapped[int] = mapped_column(Integer)
    end_ms: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
