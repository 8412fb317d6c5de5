"""The control plane as a real process: start-up checks, readiness, and what it writes to its logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from tests.control_plane.helpers import sign_up_confirmed
from tests.control_plane.processes import free_port, serving
from tests.support.mailbox import Mailbox

SECRETS = ("CODEVOICE_JWT_SECRET", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "CODEVOICE_AGENT_SERVICE_TOKEN")


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "control_plane", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_production_without_secrets_exits_naming_the_variable() -> None:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    env["CODEVOICE_ENV"] = "production"
    result = run_cli(env, "serve")
    assert result.returncode == 2
    for name in SECRETS:
        assert name in result.stderr
    env.update(
        {name: f"a-real-value-for-{name}-0123456789" for name in SECRETS if name != "LIVEKIT_API_SECRET"}
    )
    result = run_cli(env, "serve")
    assert result.returncode == 2
    assert "LIVEKIT_API_SECRET" in result.stderr
    assert "CODEVOICE_JWT_SECRET" not in result.stderr


def test_production_refuses_placeholder_secrets_naming_them() -> None:
    env = {**os.environ, "CODEVOICE_ENV": "production"}
    env.update({"CODEVOICE_JWT_SECRET": "change-me", "LIVEKIT_API_SECRET": "secret"})
    result = run_cli(env, "serve")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "CODEVOICE_JWT_SECRET, LIVEKIT_API_SECRET must be at least 32 characters" in result.stderr
    assert "CODEVOICE_AGENT_SERVICE_TOKEN" not in result.stderr
    assert "Traceback" not in result.stderr


DEV_JWT_SECRET = "dev-only-jwt-secret-do-not-use-in-production-0123456789"
REUSED = "one-value-for-every-secret-0123456789abcdef"


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"CODEVOICE_JWT_SECRET": DEV_JWT_SECRET}, ["CODEVOICE_JWT_SECRET"]),
        ({"LIVEKIT_API_SECRET": "change-me-change-me-change-me-change-me"}, ["LIVEKIT_API_SECRET"]),
        (
            {"CODEVOICE_JWT_SECRET": REUSED, "CODEVOICE_AGENT_SERVICE_TOKEN": REUSED},
            ["CODEVOICE_JWT_SECRET and CODEVOICE_AGENT_SERVICE_TOKEN"],
        ),
        ({"CODEVOICE_DEBUG": "1"}, ["CODEVOICE_DEBUG"]),
        ({"CODEVOICE_CORS_ORIGINS": "https://app.example.com,*"}, ["CODEVOICE_CORS_ORIGINS"]),
    ],
    ids=["dev-jwt-secret", "placeholder", "reused-secret", "debug", "cors-any-origin"],
)
@pytest.mark.parametrize("profile", ["production", "test"])
def test_outside_the_dev_profile_development_settings_are_refused_by_name(
    changes: dict[str, str], named: list[str], profile: str
) -> None:
    env = {**os.environ, **changes, "CODEVOICE_ENV": profile}
    result = run_cli(env, "serve")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Refusing to start outside the dev profile" in result.stderr
    for name in named:
        assert name in result.stderr
    assert "Traceback" not in result.stderr


def test_the_dev_profile_still_accepts_its_own_values() -> None:
    code = "from control_plane.settings import get_settings; s = get_settings(); print(s.app.debug)"
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    env.update({"CODEVOICE_ENV": "dev", "CODEVOICE_DEBUG": "1", "CODEVOICE_CORS_ORIGINS": "*"})
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["True"], result.stderr[-2000:]


@pytest.mark.parametrize(
    "command", [["-m", "control_plane.worker"], ["-m", "agent", "start"]], ids=["summary-worker", "agent"]
)
def test_workers_without_secrets_exit_naming_them_without_a_traceback(command: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    env["CODEVOICE_ENV"] = "production"
    result = subprocess.run([sys.executable, *command], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    for name in SECRETS:
        assert name in result.stderr
    assert "Traceback" not in result.stderr


def test_dev_profile_supplies_development_secrets() -> None:
    code = (
        "from control_plane.settings import get_settings; "
        "s = get_settings(); print(s.livekit.api_key, s.app.is_dev)"
    )
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    env["CODEVOICE_ENV"] = "dev"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["devkey", "True"]


def test_readyz_names_the_failed_dependency(database_url: str) -> None:
    with serving({}) as (base, _):
        ready = httpx.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"postgres": "ok", "redis": "ok"}
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    with serving({"REDIS_URL": unreachable}) as (base, _):
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        ready = httpx.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 503
        assert ready.headers["content-type"].startswith("application/problem+json")
        assert ready.json()["checks"] == {"postgres": "ok", "redis": "unreachable"}
        assert "redis" in ready.json()["detail"]


def test_request_logs_are_json_with_request_id_and_no_credentials(
    database_url: str, mailbox: Mailbox
) -> None:
    secret_marker = "Bearer this-token-must-never-appear-in-logs"
    with serving({}) as (base, served):
        response = httpx.get(
            f"{base}/auth/me", headers={"Authorization": secret_marker, "X-Request-ID": "req-abc123"}
        )
        assert response.status_code == 401
        assert response.headers["x-request-id"] == "req-abc123"
        generated = httpx.get(f"{base}/healthz").headers["x-request-id"]
        assert len(generated) == 32
        email, password = f"log-{generated[:8]}@example.com", "a long enough password"
        sign_up_confirmed(base, mailbox, email, password, name="L")
        token = httpx.post(f"{base}/auth/login", json={"email": email, "password": password}).json()[
            "access_token"
        ]
        created = httpx.post(
            f"{base}/sessions",
            json={"role_title": "Data Engineer", "seniority": "mid", "topics": ["sql"]},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        output = served.stop()
    assert "this-token-must-never-appear-in-logs" not in output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("event") == "request" and line.get("path") == "/auth/me"]
    assert access, output[-2000:]
    assert access[0]["request_id"] == "req-abc123"
    assert access[0]["status"] == 401
    (create_line,) = [
        line for line in lines if line.get("event") == "request" and line.get("path") == "/sessions"
    ]
    assert create_line["session_id"] == created["id"]
    assert create_line["user_id"] == created["owner_id"]
    assert token not in output
    assert password not in output


def test_every_line_the_server_writes_is_json(database_url: str) -> None:
    """uvicorn's own lines (start-up, shutdown) were plain text, in Litestar's format; 404s left no line."""
    with serving({}) as (base, served):
        assert httpx.get(f"{base}/healthz").status_code == 200
        missing = httpx.get(f"{base}/auth/no/such/path", headers={"X-Request-ID": "req-404-line"})
        assert missing.status_code == 404
        assert missing.headers["x-request-id"] == "req-404-line"
        output = served.stop()
    lines = output.splitlines()
    assert lines
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not JSON: {line!r}\n{output[-3000:]}")
    assert any(line.get("logger") == "uvicorn.error" for line in parsed), output[-2000:]
    assert [line["status"] for line in parsed if line.get("request_id") == "req-404-line"] == [404]
