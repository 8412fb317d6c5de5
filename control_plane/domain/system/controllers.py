from __future__ import annotations

import asyncio

from litestar import Controller, Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from redis.asyncio import Redis
from sqlalchemy import text

from control_plane.lib.db import get_alchemy_config
from control_plane.lib.problems import PROBLEM_JSON

CHECK_TIMEOUT_S = 2.0


async def _postgres_ok() -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S), get_alchemy_config().get_session() as db:
            await db.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


async def _redis_ok(redis: Redis) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await redis.ping()
    except Exception:
        return False
    return True


class HealthController(Controller):
    tags = ["System"]

    @get("/healthz", summary="The process is alive")
    async def healthz(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz", summary="Postgres and Redis are reachable")
    async def readyz(self, redis: Redis) -> Response[dict[str, object]]:
        postgres_ok, redis_ok = await asyncio.gather(_postgres_ok(), _redis_ok(redis))
        checks = {
            "postgres": "ok" if postgres_ok else "unreachable",
            "redis": "ok" if redis_ok else "unreachable",
        }
        if postgres_ok and redis_ok:
            return Response({"status": "ready", "checks": checks}, status_code=HTTP_200_OK)
        failed = ", ".join(name for name, status in checks.items() if status != "ok")
        return Response(
            {
                "type": "about:blank",
                "title": "Service Unavailable",
                "status": HTTP_503_SERVICE_UNAVAILABLE,
                "detail": f"Not ready: {failed} unreachable",
                "checks": checks,
            },
            status_code=HTTP_503_SERVICE_UNAVAILABLE,
            media_type=PROBLEM_JSON,
        )
