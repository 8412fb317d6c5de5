"""Fixtures for the interviewer agent's tests: the real control plane on a loopback port, interview
sessions in its real Postgres, and the offline speech models (loaded once per test session)."""

from __future__ import annotations

# The agent package switches model hubs and NLTK to offline; import it before anything imports Pipecat.
import agent  # noqa: F401

# isort: split

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient

from agent.control_plane_client import ControlPlaneClient, RetryPolicy
from agent.metadata import InterviewSession
from agent.speech import OfflineSpeechModels, load_offline_speech_models
from control_plane.settings import Settings, get_settings
from tests.conftest import MakeUser
from tests.control_plane.helpers import create_session


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LoopbackControlPlane:
    """The real control plane app served by uvicorn on 127.0.0.1; it can be stopped and started again
    on the same port to play a control plane that is briefly down."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        from control_plane.app import create_app

        config = uvicorn.Config(
            create_app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.get_running_loop().create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        self._server = None
        self._task = None


@pytest.fixture(scope="session")
async def control_plane(database_url: str) -> AsyncIterator[LoopbackControlPlane]:
    server = LoopbackControlPlane()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def settings() -> Settings:
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
async def cp_client(
    control_plane: LoopbackControlPlane, settings: Settings
) -> AsyncIterator[ControlPlaneClient]:
    client = ControlPlaneClient(
        control_plane.base_url,
        settings.auth.agent_service_token,
        timeout_s=5.0,
        retry=RetryPolicy(max_attempts=6, base_delay_s=0.05, max_delay_s=0.5),
    )
    yield client
    await client.aclose()


@dataclass(frozen=True)
class CreatedSession:
    session: InterviewSession
    owner_headers: dict[str, str]


NewSession = Callable[..., Awaitable[CreatedSession]]


@pytest.fixture
def new_session(client: AsyncTestClient[Litestar], make_user: MakeUser) -> NewSession:
    """Create an interview session through the control plane's public API, as a candidate would."""

    async def _new(
        role: str = "Backend Engineer",
        seniority: str = "senior",
        topics: tuple[str, ...] = ("python", "databases"),
        duration_minutes: int = 20,
    ) -> CreatedSession:
        user = await make_user()
        body = await create_session(
            client,
            user,
            role_title=role,
            seniority=seniority,
            topics=list(topics),
            planned_duration_minutes=duration_minutes,
        )
        session = InterviewSession(
            session_id=uuid.UUID(body["id"]),
            role=role,
            seniority=seniority,  # type: ignore[arg-type]
            topics=list(topics),
            duration_minutes=duration_minutes,
        )
        return CreatedSession(session=session, owner_headers=user.headers)

    return _new


@pytest.fixture(scope="session")
def speech_models() -> OfflineSpeechModels:
    """Whisper tiny.en and the Piper voice, loaded once for the whole test session (as prewarm does)."""
    get_settings.cache_clear()
    return load_offline_speech_models(get_settings().speech)
