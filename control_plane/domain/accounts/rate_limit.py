"""Fixed-window rate limits kept in Redis, so the limit holds across every control plane process."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from control_plane.lib.problems import TooManyRequestsError
from control_plane.settings import Settings


async def enforce(redis: Redis, key: str, *, limit: int, window_s: int) -> None:
    """Count one attempt against `key`; raise 429 once more than `limit` fall in the current window."""
    pipe = redis.pipeline(transaction=True)
    pipe.incr(key)
    pipe.expire(key, window_s, nx=True)
    count, _ = await pipe.execute()
    if int(count) > limit:
        ttl = await redis.ttl(key)
        retry_after = max(int(ttl), 1)
        raise TooManyRequestsError(
            detail=f"Too many attempts. Try again in {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )


# A slot held by a process that died is given back when the counter expires (it is refreshed on each take).
_SLOT_TTL_S = 30


@asynccontextmanager
async def concurrency_slot(redis: Redis, key: str, *, limit: int) -> AsyncIterator[None]:
    """Hold one of `limit` slots shared by every process (a counter in Redis) while the body runs; raise
    429 with `Retry-After: 1` when all are taken. For CPU-bound work such as password checks."""
    pipe = redis.pipeline(transaction=True)
    pipe.incr(key)
    pipe.expire(key, _SLOT_TTL_S)
    taken, _ = await pipe.execute()
    if int(taken) > limit:
        await redis.decr(key)
        raise TooManyRequestsError(
            detail="The server is busy checking passwords. Try again in a second.",
            headers={"Retry-After": "1"},
        )
    try:
        yield
    finally:
        await redis.decr(key)


@asynccontextmanager
async def password_check_slot(redis: Redis, settings: Settings, client: str) -> AsyncIterator[None]:
    """Hold a share of the password checks (argon2) for one check by `client`: at most
    `max_concurrent_password_checks_per_client` of its own at once, so that one client cannot take every
    slot, and at most `max_concurrent_password_checks` across every process. 429 when either is full."""
    auth = settings.auth
    own = settings.redis.key("password-checks", "client", subject(client))
    async with (
        concurrency_slot(redis, own, limit=auth.max_concurrent_password_checks_per_client),
        concurrency_slot(
            redis, settings.redis.key("password-checks"), limit=auth.max_concurrent_password_checks
        ),
    ):
        yield


def subject(*parts: str) -> str:
    """A key part that does not store emails or addresses in Redis in clear."""
    return hashlib.sha256("|".join(parts).lower().encode()).hexdigest()[:32]
