"""Shared fixtures: a real Postgres database and real Redis keys of this test run's own.

Every run gets a uniquely named, freshly migrated database and its own Redis key prefix and queue
name, so concurrent runs on one machine never see each other's data.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import psycopg
import pytest
from redis.asyncio import Redis

RUN_ID = uuid.uuid4().hex[:10]
ADMIN_DSN = os.environ.get("CODEVOICE_TEST_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_DB = f"cv_test_{RUN_ID}"
_DB_URL = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{TEST_DB}"


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


TEST_ENV = {
    "CODEVOICE_ENV": "test",
    "CODEVOICE_JWT_SECRET": f"test-jwt-secret-{RUN_ID}-0123456789abcdef",
    "LIVEKIT_API_KEY": "testkey",
    "LIVEKIT_API_SECRET": f"test-livekit-secret-{RUN_ID}-0123456789abcdef",
    # Not 7880: a developer's `make dev` LiveKit listens there. Tests that need a server start their own.
    "LIVEKIT_URL": f"ws://127.0.0.1:{_unused_port()}",
    "CODEVOICE_AGENT_SERVICE_TOKEN": f"test-service-token-{RUN_ID}-0123456789abcdef",
    "DATABASE_URL": _DB_URL,
    "REDIS_URL": os.environ.get("CODEVOICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "CODEVOICE_REDIS_PREFIX": f"cvtest-{RUN_ID}",
    "CODEVOICE_QUEUE": f"cvtest-{RUN_ID}-summaries",
    "CODEVOICE_REGISTER_RATE_LIMIT": "1000",
    # Every in-process test client is one client ("testclient"); the per-client login budget is tested
    # on its own.
    "CODEVOICE_LOGIN_CLIENT_RATE_LIMIT": "100000",
    # Sign-up mail goes to a real SMTP server on loopback (aiosmtpd) that the `mailbox` fixture starts.
    "CODEVOICE_SMTP_HOST": "127.0.0.1",
    "CODEVOICE_SMTP_PORT": str(_unused_port()),
    "CODEVOICE_SMTP_SECURITY": "none",
    "CODEVOICE_SMTP_TIMEOUT_S": "3",
    "CODEVOICE_LOG_JSON": "1",
    "CODEVOICE_LOG_LEVEL": "WARNING",
    "HF_HUB_OFFLINE": "1",
}
for _name in ("OPENAI_API_KEY", "CODEVOICE_LLM_BASE_URL"):
    os.environ.pop(_name, None)
os.environ.update(TEST_ENV)

from litestar import Litestar  # noqa: E402
from litestar.testing import AsyncTestClient  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

from control_plane.settings import get_settings  # noqa: E402
from tests.support.mailbox import Mailbox, start_smtp  # noqa: E402


def _admin(sql: str) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def migrate(url: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(get_settings().db.migrations_dir.parent / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    _admin(f'CREATE DATABASE "{TEST_DB}"')
    try:
        migrate(_DB_URL)
        yield _DB_URL
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')


@pytest.fixture
def app(database_url: str) -> Litestar:
    """A fresh app per test: the test client runs each app on its own event loop, and the queue's
    Redis connections must not outlive the loop they were made on."""
    from control_plane.app import create_app

    return create_app()


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
async def db_session(database_url: str) -> AsyncIterator[AsyncSession]:
    from control_plane.lib.db import get_alchemy_config

    async with get_alchemy_config().get_session() as session:
        yield session


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(TEST_ENV["REDIS_URL"])
    yield client
    await client.aclose()


@pytest.fixture(scope="session", autouse=True)
def _drop_redis_keys() -> Iterator[None]:
    yield
    import redis as sync_redis

    client = sync_redis.Redis.from_url(TEST_ENV["REDIS_URL"])
    for pattern in (f"{TEST_ENV['CODEVOICE_REDIS_PREFIX']}*", f"*{TEST_ENV['CODEVOICE_QUEUE']}*"):
        keys = list(client.scan_iter(pattern, count=1000))
        if keys:
            client.delete(*keys)
    client.close()


@dataclass
class AuthedUser:
    id: uuid.UUID
    email: str
    password: str
    role: str
    access_token: str
    refresh_token: str
    headers: dict[str, str] = field(default_factory=dict)


MakeUser = Callable[..., Awaitable[AuthedUser]]


@pytest.fixture
def make_user(client: AsyncTestClient[Litestar], database_url: str) -> MakeUser:
    """Create a user directly in Postgres (any role), then log in through the API."""

    async def _make(role: str = "candidate", password: str = "correct horse battery") -> AuthedUser:
        from control_plane.db import models as m
        from control_plane.domain.accounts.services import UserService
        from control_plane.lib.db import get_alchemy_config

        email = f"{role}-{uuid.uuid4().hex[:10]}@example.com"
        async with get_alchemy_config().get_session() as session:
            users = UserService(session=session)
            user = await users.create_account(
                email=email, password=password, display_name=f"Test {role}", role=m.UserRole(role)
            )
            await session.commit()
        response = await client.post("/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        tokens = response.json()
        return AuthedUser(
            id=user.id,
            email=email,
            password=password,
            role=role,
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )

    return _make


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    """The SMTP server (aiosmtpd on loopback) that TEST_ENV points the control plane at."""
    controller, box = start_smtp(int(TEST_ENV["CODEVOICE_SMTP_PORT"]))
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def service_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {TEST_ENV['CODEVOICE_AGENT_SERVICE_TOKEN']}"}
