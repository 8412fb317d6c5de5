"""Fixed-window rate limits kept in Redis, so the limit holds across every control plane process."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from control_plane.lib.problems import TooManyRequestsError


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


def subject(*parts: str) -> str:
    """A key part that does not store emails or addresses in Redis in clear."""
    return hashlib.sha256("|".join(parts).lower().encode()).hexdigest()[:32]
