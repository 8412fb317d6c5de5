"""Looks at the SAQ queue in Redis the way an operator would: by the job key."""

from __future__ import annotations

from redis.asyncio import Redis

from tests.conftest import TEST_ENV


async def summary_job_exists(redis: Redis, session_id: str) -> bool:
    pattern = f"*{TEST_ENV['CODEVOICE_QUEUE']}*summary:{session_id}*"
    async for _ in redis.scan_iter(match=pattern, count=1000):
        return True
    return False
