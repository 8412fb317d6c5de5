"""interview_sessions.end_reason: why a completed interview ended

Sessions completed before this migration keep NULL: nobody recorded why they ended.

Revision ID: 94dbb7d7e78f
Revises: 5b1f0c2e7a41
Create Date: 2026-11-29 23:55:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "94dbb7d7e78f"
down_revision: str | None = "5b1f0c2e7a41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("interview_sessions", sa.Column("end_reason", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("interview_sessions", "end_reason")
