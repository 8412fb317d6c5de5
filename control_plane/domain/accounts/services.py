from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from advanced_alchemy.extensions.litestar import repository, service
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import undefer_group

from control_plane.db import models as m
from control_plane.domain.accounts.confirmation import InvalidConfirmationTokenError
from control_plane.domain.accounts.tokens import hash_refresh_token, new_refresh_token
from control_plane.lib import passwords
from control_plane.lib.problems import ConflictError

INVALID_CREDENTIALS = "Invalid email or password"


def normalize_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True)
class SignUp:
    """What a sign-up found: the new account (`created`) or the one that already had the address."""

    user: m.User
    created: bool


class UserService(service.SQLAlchemyAsyncRepositoryService[m.User]):
    class Repo(repository.SQLAlchemyAsyncRepository[m.User]):
        model_type = m.User

    repository_type = Repo

    async def create_account(
        self, *, email: str, password: str, display_name: str, role: m.UserRole = m.UserRole.CANDIDATE
    ) -> m.User:
        """An account made by an operator (CLI) or a test: confirmed at once. Raises ConflictError (409)
        for a taken email: operators may know which accounts exist."""
        email = normalize_email(email)
        if await self.exists(email=email):
            raise ConflictError(detail="An account with this email already exists")
        return await self.create(
            m.User(
                email=email,
                display_name=display_name.strip(),
                password_hash=await passwords.hash_password(password),
                role=role.value,
                is_active=True,
                email_confirmed_at=datetime.now(UTC),
            )
        )

    async def sign_up(self, *, email: str, password: str, display_name: str) -> SignUp:
        """Public sign-up: a new, unconfirmed candidate account, or the existing account untouched.

        Both outcomes do the same work (one argon2 hash, one lookup) so that neither the answer nor its
        timing tells whether the email has an account; the caller sends a different email in each case.
        """
        email = normalize_email(email)
        password_hash = await passwords.hash_password(password)
        existing = await self.get_one_or_none(email=email)
        if existing is not None:
            return SignUp(user=existing, created=False)
        user = m.User(
            email=email,
            display_name=display_name.strip(),
            password_hash=password_hash,
            role=m.UserRole.CANDIDATE.value,
            is_active=True,
            email_confirmed_at=None,
        )
        try:
            async with self.repository.session.begin_nested():
                self.repository.session.add(user)
        except IntegrityError:  # the same address signed up concurrently
            existing = await self.get_one_or_none(email=email)
            if existing is None:
                raise
            return SignUp(user=existing, created=False)
        return SignUp(user=user, created=True)

    async def confirm_email(self, user_id: UUID, email: str) -> m.User:
        """Mark the account confirmed (idempotent). Raises InvalidConfirmationTokenError when the account
        is gone or its address changed since the link was sent."""
        user = await self.get_one_or_none(id=user_id)
        if user is None or user.email != email:
            raise InvalidConfirmationTokenError("no such account")
        if user.email_confirmed_at is None:
            user.email_confirmed_at = datetime.now(UTC)
            await self.repository.session.flush()
        return user

    async def authenticate(self, email: str, password: str) -> m.User:
        """Same work and same answer whether the email is unknown or the password is wrong."""
        user = await self.get_one_or_none(email=normalize_email(email), load=[undefer_group("secrets")])
        matched = await passwords.verify_password(password, user.password_hash if user else None)
        if user is None or not matched or not user.is_active:
            raise NotAuthorizedException(detail=INVALID_CREDENTIALS)
        if user.email_confirmed_at is None:
            # Only someone who knows the password learns that the account waits for confirmation.
            raise PermissionDeniedException(
                detail="Confirm your email address first: follow the link we sent when you registered"
            )
        return user


class RefreshTokenService(service.SQLAlchemyAsyncRepositoryService[m.RefreshToken]):
    class Repo(repository.SQLAlchemyAsyncRepository[m.RefreshToken]):
        model_type = m.RefreshToken

    repository_type = Repo

    async def issue(self, user_id: UUID, ttl_s: int, family_id: UUID | None = None) -> str:
        token = new_refresh_token()
        await self.create(
            m.RefreshToken(
                user_id=user_id,
                family_id=family_id or uuid4(),
                token_hash=hash_refresh_token(token),
                expires_at=datetime.now(UTC) + timedelta(seconds=ttl_s),
            )
        )
        return token

    async def rotate(self, token: str, ttl_s: int) -> tuple[UUID, str]:
        """Spend `token` and return (user id, its successor). Presenting an already spent token is
        treated as theft: the whole family is revoked."""
        now = datetime.now(UTC)
        row = (
            await self.repository.session.execute(
                select(m.RefreshToken)
                .where(m.RefreshToken.token_hash == hash_refresh_token(token))
                .with_for_update()
            )
        ).scalar_one_or_none()
        if row is None:
            raise NotAuthorizedException(detail="Invalid refresh token")
        if row.used_at is not None or row.revoked_at is not None:
            await self.revoke_family(row.family_id)
            raise NotAuthorizedException(detail="Refresh token reuse detected; please log in again")
        if row.expires_at <= now:
            raise NotAuthorizedException(detail="Refresh token expired")
        row.used_at = now
        successor = await self.issue(row.user_id, ttl_s, family_id=row.family_id)
        return row.user_id, successor

    async def revoke(self, token: str) -> None:
        row = await self.get_one_or_none(token_hash=hash_refresh_token(token))
        if row is not None:
            await self.revoke_family(row.family_id)

    async def revoke_family(self, family_id: UUID) -> None:
        await self.repository.session.execute(
            update(m.RefreshToken)
            .where(m.RefreshToken.family_id == family_id, m.RefreshToken.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        # Commit now: the caller answers 401, and a rollback on error must not undo the revocation.
        await self.repository.session.commit()
