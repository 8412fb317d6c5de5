from __future__ import annotations

from datetime import datetime

from advanced_alchemy.base import UUIDAuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.db.models._enums import UserRole, check_in


class User(UUIDAuditBase):
    __tablename__ = "users"
    __table_args__ = (
        # Emails are stored lower-cased, so the unique constraint is case-insensitive.
        CheckConstraint("email = lower(email)", name="email_lower"),
        CheckConstraint(check_in("role", UserRole), name="role"),
    )

    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255), deferred=True, deferred_group="secrets")
    role: Mapped[str] = mapped_column(String(16), default=UserRole.CANDIDATE.value)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when the owner of the address followed the sign-up link; accounts made by an admin (CLI) are
    # confirmed at creation. An unconfirmed account cannot sign in.
    email_confirmed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)

    @property
    def can_see_all_sessions(self) -> bool:
        return self.role in {UserRole.RECRUITER, UserRole.ADMIN}
