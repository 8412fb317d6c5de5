"""users.email_confirmed_at: sign-up is confirmed by email

Accounts that exist before this migration were created without confirmation; they count as confirmed.

Revision ID: 5b1f0c2e7a41
Revises: 99240da0070e
Create Date: 2026-11-29 21:10:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "5b1f0c2e7a41"
down_revision: str | None = "99240da0070e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column(
            "email_confirmed_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
    )
    op.execute("UPDATE users SET email_confirmed_at = created_at")


def downgrade() -> None:
    op.drop_column("users", "email_confirmed_at")
