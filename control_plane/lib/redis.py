"""The app's Redis client: opened at start-up, closed at shutdown, one per application instance."""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import State
from redis.asyncio import Redis

from control_plane.settings import get_settings


async def open_redis(app: Litestar) -> None:
    app.state.redis = Redis.from_url(get_settings().redis.url, health_check_interval=30)


async def close_redis(app: Litestar) -> None:
    redis: Redis | None = getattr(app.state, "redis", None)
    if redis is not None:
        await redis.aclose()


def provide_redis(state: State) -> Redis:
    redis: Redis = state.redis
    return redis
