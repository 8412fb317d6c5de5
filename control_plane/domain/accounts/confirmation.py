"""Sign-up confirmation: the link's token and the three emails a registration can send.

The token is a JWT (HS256) with `sub` (the user id), `email` and a short expiry. Its key is derived from
`CODEVOICE_JWT_SECRET` for this purpose alone, so it can never pass as an access token, nor an access token
as a confirmation.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from uuid import UUID

import jwt

from control_plane.db import models as m
from control_plane.lib.mail import Mail
from control_plane.settings import AuthSettings, MailSettings

_PURPOSE = b"codevoice/email-confirmation/v1"


class InvalidConfirmationTokenError(ValueError):
    """The token is malformed, forged, expired, or for an address the account no longer has."""


def _key(auth: AuthSettings) -> bytes:
    return hmac.new(auth.jwt_secret.encode(), _PURPOSE, hashlib.sha256).digest()


def confirmation_token(auth: AuthSettings, mail: MailSettings, user: m.User) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user.id),
        "email": user.email,
        "iat": now,
        "exp": now + timedelta(seconds=mail.confirmation_ttl_s),
    }
    return jwt.encode(claims, _key(auth), algorithm="HS256")


def read_confirmation_token(auth: AuthSettings, token: str) -> tuple[UUID, str]:
    """(user id, email) from a valid token; raises InvalidConfirmationTokenError otherwise."""
    try:
        claims = jwt.decode(token, _key(auth), algorithms=["HS256"], options={"require": ["sub", "exp"]})
        return UUID(str(claims["sub"])), str(claims["email"])
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise InvalidConfirmationTokenError(str(exc)) from exc


def confirmation_mail(auth: AuthSettings, mail: MailSettings, user: m.User) -> Mail:
    link = f"{mail.public_url.rstrip('/')}/confirm-email?token={quote(confirmation_token(auth, mail, user))}"
    hours = max(1, mail.confirmation_ttl_s // 3600)
    return Mail(
        to=user.email,
        subject="Confirm your CodeVoice account",
        body=(
            f"Hello {user.display_name},\n\n"
            f"To finish creating your CodeVoice account, open this link within {hours} hours:\n\n"
            f"{link}\n\n"
            "If you did not sign up, ignore this message and no account will be activated.\n"
        ),
        kind="signup_confirmation",
    )


def already_registered_mail(mail: MailSettings, user: m.User) -> Mail:
    return Mail(
        to=user.email,
        subject="Someone tried to create a CodeVoice account with your address",
        body=(
            f"Hello {user.display_name},\n\n"
            "Someone (perhaps you) tried to create a CodeVoice account with this email address, which "
            "already has one. Nothing was changed.\n\n"
            f"If it was you, sign in at {mail.public_url.rstrip('/')}/ instead.\n"
            "If it was not, you can ignore this message.\n"
        ),
        kind="signup_existing_account",
    )
