"""A scratch control plane for benchmarks: its own migrated Postgres database and Redis prefix, served by
uvicorn on a loopback port or a Unix socket, with one signed-in candidate. Everything is dropped after."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_env(run: str, database: str) -> dict[str, str]:
    """Production mode with throwaway secrets, so the dev profile's shortcuts are not what is measured."""
    return {
        **os.environ,
        "CODEVOICE_ENV": "bench",
        "CODEVOICE_JWT_SECRET": f"bench-secret-{run}-0123456789abcdef0123456789",
        "LIVEKIT_API_KEY": "benchkey",
        "LIVEKIT_API_SECRET": f"bench-livekit-secret-{run}-0123456789",
        "CODEVOICE_AGENT_SERVICE_TOKEN": f"bench-service-{run}-0123456789abcdef0123456789",
        "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}",
        "CODEVOICE_REDIS_PREFIX": f"cvbench-{run}",
        "CODEVOICE_QUEUE": f"cvbench-{run}",
        "CODEVOICE_LOG_LEVEL": "WARNING",
        # Sign-up mail goes to the log; the benchmark confirms its account in the database.
        "CODEVOICE_MAIL_BACKEND": "log",
    }


def start_process(
    argv: list[str], env: dict[str, str], transport: httpx.BaseTransport, base_url: str
) -> subprocess.Popen[bytes]:
    """Start a server and wait until its /healthz answers."""
    process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    with httpx.Client(transport=transport, base_url=base_url) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            with contextlib.suppress(httpx.TransportError):
                if client.get("/healthz").status_code == 200:
                    return process
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{argv} did not start")


@dataclass
class ScratchControlPlane:
    env: dict[str, str]
    client: httpx.AsyncClient  # signed in as `headers`' candidate
    headers: dict[str, str]
    base_url: str
    email: str = ""  # the signed-in candidate's

    async def create_session(self, **fields: object) -> str:
        body = {"role_title": "Backend Engineer", "seniority": "senior", "topics": ["python", "databases"]}
        response = await self.client.post("/sessions", json={**body, **fields}, headers=self.headers)
        response.raise_for_status()
        return str(response.json()["id"])

    async def room_token(self, session_id: str) -> str:
        response = await self.client.post(
            "/livekit/token", json={"session_id": session_id}, headers=self.headers
        )
        response.raise_for_status()
        return str(response.json()["participant_token"])


@contextlib.asynccontextmanager
async def scratch_control_plane(
    *, uds: Path | None = None, env: dict[str, str] | None = None
) -> AsyncIterator[ScratchControlPlane]:
    """The real control plane on a fresh database: on a free loopback port, or on `uds` when given."""
    run = uuid.uuid4().hex[:8]
    database = f"cv_bench_{run}"
    full_env = {**bench_env(run, database), **(env or {})}
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')  # type: ignore[arg-type]
    process: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [sys.executable, "-m", "control_plane", "db", "upgrade"], env=full_env, cwd=ROOT, check=True
        )
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "control_plane.app:create_app",
            "--log-level",
            "warning",
        ]
        if uds is not None:
            argv += ["--uds", str(uds)]
            base_url = "http://control-plane"
            sync_transport: httpx.BaseTransport = httpx.HTTPTransport(uds=str(uds))
            async_transport: httpx.AsyncBaseTransport = httpx.AsyncHTTPTransport(uds=str(uds))
        else:
            port = free_port()
            argv += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
            base_url = f"http://127.0.0.1:{port}"
            sync_transport = httpx.HTTPTransport()
            async_transport = httpx.AsyncHTTPTransport()
        process = start_process(argv, full_env, sync_transport, base_url)
        async with httpx.AsyncClient(transport=async_transport, base_url=base_url, timeout=30) as client:
            email, password = f"bench-{run}@example.com", "bench password 123"
            registered = await client.post(
                "/auth/register", json={"email": email, "password": password, "display_name": "Bench"}
            )
            registered.raise_for_status()
            # What following the emailed link does (the mail itself only goes to the log here).
            with psycopg.connect(ADMIN_DSN, dbname=database, autocommit=True) as conn:
                conn.execute("UPDATE users SET email_confirmed_at = now() WHERE email = %s", (email,))
            login = await client.post("/auth/login", json={"email": email, "password": password})
            login.raise_for_status()
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            yield ScratchControlPlane(
                env=full_env, client=client, headers=headers, base_url=base_url, email=email
            )
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=15)
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')  # type: ignore[arg-type]
