from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from control_plane.db import models  # noqa: F401  (registers the tables)
from control_plane.db.base import metadata


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_models_and_migrations_agree(database_url: str) -> None:
    """The test database was built by `alembic upgrade head`; autogenerate must find nothing to add."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_diff)
    finally:
        await engine.dispose()
    assert differences == []


async def test_every_table_is_migrated(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(
                lambda sync: set(sync.dialect.get_table_names(sync))  # type: ignore[arg-type]
            )
    finally:
        await engine.dispose()
    assert {"users", "interview_sessions", "transcript_segments", "webhook_events", "summaries"} <= tables
