from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec

from control_plane.domain.accounts.email_address import EMAIL_PATTERN, canonical_email

Email = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=320,
        pattern=EMAIL_PATTERN,
        description="Compared case-insensitively; surrounding whitespace or non-normal Unicode is refused.",
    ),
]
Password = Annotated[str, msgspec.Meta(min_length=10, max_length=256)]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=r"[^\s\x1c-\x1f\x85\ufeff]")]
OpaqueToken = Annotated[str, msgspec.Meta(min_length=20, max_length=200)]


class _HasEmail(msgspec.Struct):
    email: Email

    def __post_init__(self) -> None:
        # One canonical form from here on (storage, lookup, rate-limit keys); msgspec turns the ValueError
        # into a 400 naming the field.
        self.email = canonical_email(self.email)


class Registration(_HasEmail, forbid_unknown_fields=True):
    password: Password
    display_name: DisplayName


class RegistrationAccepted(msgspec.Struct):
    """The same answer whether or not the address already has an account: the email tells the rest."""

    detail: str = (
        "Check your inbox: we sent a message to this address. Follow its link to confirm your account."
    )


class EmailConfirmation(msgspec.Struct, forbid_unknown_fields=True):
    """The token from the link in the sign-up email."""

    token: Annotated[str, msgspec.Meta(min_length=20, max_length=2048)]


class Credentials(_HasEmail, forbid_unknown_fields=True):
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: OpaqueToken


class TokenPair(msgspec.Struct):
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


class UserOut(msgspec.Struct):
    id: UUID
    email: str
    display_name: str
    role: str
    is_active: bool
