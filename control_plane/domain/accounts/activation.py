"""Deactivating and reactivating accounts (operators, through `codevoice deactivate-user`).

A deactivated account can neither sign in nor use an access token (`auth.retrieve_user` checks
`is_active` on every request). Its refresh tokens are revoked in the same transaction, so that
reactivating the account does not bring old sessions back: the user signs in again.
"""

from __future__ import annotations

from datetime import UTC, datetime

from advanced_alchemy.exceptions import NotFoundError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from control_plane.db import models as m
from control_plane.domain.accounts.services import normalize_email


async def set_active(db: AsyncSession, email: str, *, active: bool) -> m.User:
    """Set the account's `is_active`; deactivating also revokes every refresh token of the user (all
    families). The caller commits."""
    user = (
        await db.execute(select(m.User).where(m.User.email == normalize_email(email)).with_for_update())
    ).scalar_one_or_none()
    if user is None:
        raise NotFoundError(f"No account with the email {email}")
    user.is_active = active
    if not active:
        await db.execute(
            update(m.RefreshToken)
            .where(m.RefreshToken.user_id == user.id, m.RefreshToken.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
    await db.flush()
    return user
