from __future__ import annotations

import asyncio
from typing import Literal

import msgspec
from litestar import Controller, get
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE
from redis.asyncio import Redis
from sqlalchemy import text

from control_plane.lib.db import get_alchemy_config
from control_plane.lib.openapi import problem_responses
from control_plane.lib.problems import ABOUT_BLANK

CHECK_TIMEOUT_S = 2.0
Check = Literal["ok", "unreachable"]


class Health(msgspec.Struct):
    status: Literal["ok"]


class Readiness(msgspec.Struct):
    status: Literal["ready"]
    checks: dict[str, Check]


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

    @get("/healthz", operation_id="getHealth", summary="The process is alive")
    async def healthz(self) -> Health:
        return Health(status="ok")

    @get(
        "/readyz",
        operation_id="getReadiness",
        summary="Postgres and Redis are reachable",
        responses=problem_responses(503),
    )
    async def readyz(self, redis: Redis) -> Readiness:
        postgres_ok, redis_ok = await asyncio.gather(_postgres_ok(), _redis_ok(redis))
        checks: dict[str, Check] = {
            "postgres": "ok" if postgres_ok else "unreachable",
            "redis": "ok" if redis_ok else "unreachable",
        }
        if postgres_ok and redis_ok:
            return Readiness(status="ready", checks=checks)
        failed = ", ".join(name for name, status in checks.items() if status != "ok")
        raise ProblemDetailsException(
            status_code=HTTP_503_SERVICE_UNAVAILABLE,
            type_=ABOUT_BLANK,
            title="Service Unavailable",
            detail=f"Not ready: {failed} unreachable",
            extra={"checks": checks},
        )
