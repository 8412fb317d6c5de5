"""Password hashing with argon2 (pwdlib)."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(),))


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    # Verified against when the email is unknown, so a login for a missing account costs the same time.
    return _hasher().hash("decoy-password-for-timing-only")


async def hash_password(password: str) -> str:
    # argon2 is deliberately slow: keep it off the event loop.
    return await asyncio.to_thread(_hasher().hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    target = password_hash if password_hash is not None else _decoy_hash()
    matched = await asyncio.to_thread(_hasher().verify, password, target)
    return matched and password_hash is not None


def warm_up() -> None:
    """Compute the decoy hash at start-up rather than on the first unknown-email login."""
    _decoy_hash()
