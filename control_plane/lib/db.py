"""The process's SQLAlchemy config (one engine per process), shared by the app, guards and jobs."""

from __future__ import annotations

from functools import lru_cache

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from control_plane.settings import get_settings


@lru_cache(maxsize=1)
def get_alchemy_config() -> SQLAlchemyAsyncConfig:
    return get_settings().db.get_config()
