"""Alembic environment: runs migrations over the same async psycopg engine the app uses."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from control_plane.db import models  # noqa: F401  (registers every table on the metadata)
from control_plane.db.base import metadata
from control_plane.settings import DatabaseSettings

config = context.config


def _url() -> str:
    # Tests pass an explicit URL; otherwise only the database section is read, so no secrets are needed.
    return config.get_main_option("sqlalchemy.url") or DatabaseSettings().url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(run_migrations_online())
