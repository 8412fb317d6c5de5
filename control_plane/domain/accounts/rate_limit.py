"""Fixed-window rate limits kept in Redis, so the limit holds across every control plane process."""

from __future__ import annotations

import hashlib

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


def subject(*parts: str) -> str:
    """A key part that does not store emails or addresses in Redis in clear."""
    return hashlib.sha256("|".join(parts).lower().encode()).hexdigest()[:32]
