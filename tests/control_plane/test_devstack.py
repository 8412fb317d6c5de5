"""`make dev`'s supervisor (`python -m control_plane.devstack`) as a real process: it starts the pinned
livekit-server next to the API, the summary worker and the agent; livekit-server's webhooks reach the
control plane, and so do the agent's reports, on whatever port the control plane was given. Runs on free
loopback ports (not 7880/8000, which a developer's own `make dev` may hold); no peer connection is made, so
nothing leaves loopback."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import httpx
import psutil
import pytest
from livekit import api
from livekit.protocol import room as room_pb

from control_plane.devstack import livekit_config
from control_plane.settings import get_settings
from tests.conftest import TEST_ENV
from tests.control_plane.processes import free_port

pytestmark = pytest.mark.slow


def _free_port_pair() -> int:
    """A port whose successor is free too (livekit-server takes RTC over TCP on port + 1)."""
    for _ in range(50):
        port = free_port()
        try:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise AssertionError("no two adjacent free ports")


def test_livekit_config_follows_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEKIT_URL", "ws://127.0.0.1:17880")
    monkeypatch.setenv("CODEVOICE_PORT", "18000")
    monkeypatch.setenv("CODEVOICE_HOST", "0.0.0.0")
    get_settings.cache_clear()
    try:
        config = livekit_config(get_settings())
    finally:
        get_settings.cache_clear()
    assert config["port"] == 17880
    assert config["rtc"]["tcp_port"] == 17881
    assert config["keys"] == {TEST_ENV["LIVEKIT_API_KEY"]: TEST_ENV["LIVEKIT_API_SECRET"]}
    assert config["webhook"] == {
        "api_key": TEST_ENV["LIVEKIT_API_KEY"],
        "urls": ["http://127.0.0.1:18000/livekit/webhook"],
    }
    # everything else comes from livekit.yaml as it is
    assert config["room"] == {"empty_timeout": 300, "departure_timeout": 20}
    assert config["rtc"]["use_external_ip"] is False


def _wait_for(output: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in output.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.3)
    raise AssertionError(f"devstack never printed {text!r}:\n{output.read_text(errors='replace')[-6000:]}")


def _command_line(process: psutil.Process) -> str:
    """The process's command line; empty once it exited (an agent's job process may end any moment)."""
    try:
        return " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return ""


async def test_devstack_runs_livekit_server_whose_webhooks_reach_the_control_plane(
    database_url: str, tmp_path: Path
) -> None:
    lk_port, api_port = _free_port_pair(), free_port()
    env = {
        **os.environ,
        **TEST_ENV,
        "CODEVOICE_ENV": "dev",
        "CODEVOICE_PORT": str(api_port),
        "LIVEKIT_URL": f"ws://127.0.0.1:{lk_port}",
        "CODEVOICE_LOG_LEVEL": "INFO",
        "CODEVOICE_TRANSCRIPT_SPOOL_DIR": str(tmp_path / "spool"),
        "PYTHONUNBUFFERED": "1",
    }
    output = tmp_path / "devstack.log"
    with output.open("wb") as sink:
        devstack = subprocess.Popen(
            [sys.executable, "-m", "control_plane.devstack"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{api_port}"
    try:
        _wait_for(output, "Application startup complete", devstack, 90)
        # livekit-server logs the interviewer's registration: the agent found the server it started
        _wait_for(output, '"agentName": "codevoice-interviewer"', devstack, 120)
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            assert (await http.get("/readyz")).json()["status"] == "ready"
            email, password = f"devstack-{lk_port}@example.com", "a long enough password"
            account = {"email": email, "password": password, "display_name": "D"}
            assert (await http.post("/auth/register", json=account)).status_code == 202
            # the dev profile writes sign-up mail to the log: follow the link printed there
            _wait_for(output, "confirm-email?token=", devstack, 30)
            link = re.search(r"confirm-email\?token=([A-Za-z0-9._~%-]+)", output.read_text(errors="replace"))
            assert link is not None
            token = urllib.parse.unquote(link.group(1))
            assert (await http.post("/auth/confirm-email", json={"token": token})).status_code == 200
            login = await http.post("/auth/login", json={"email": email, "password": password})
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

            async def new_session(role: str, topic: str) -> dict[str, str]:
                body = {"role_title": role, "seniority": "mid", "topics": [topic]}
                created: dict[str, str] = (await http.post("/sessions", json=body, headers=headers)).json()
                return created

            session = await new_session("Backend Engineer", "python")
            second = await new_session("Data Engineer", "sql")

            async def status_of(session_id: str, wanted: str) -> dict[str, object]:
                body: dict[str, object] = {}
                for _ in range(150):
                    body = (await http.get(f"/sessions/{session_id}", headers=headers)).json()
                    if body["status"] == wanted:
                        break
                    await asyncio.sleep(0.2)
                return body

            async with api.LiveKitAPI(
                f"http://127.0.0.1:{lk_port}", TEST_ENV["LIVEKIT_API_KEY"], TEST_ENV["LIVEKIT_API_SECRET"]
            ) as lkapi:
                await lkapi.room.create_room(room_pb.CreateRoomRequest(name=session["room_name"]))
                await lkapi.room.delete_room(room_pb.DeleteRoomRequest(room=session["room_name"]))
                # room_finished, signed by livekit-server and verified by the control plane, ends the session
                finished = await status_of(session["id"], "completed")
                # A dispatch whose metadata names a session but no role: the interviewer fails that session
                # (without joining the room), through the control plane on the port devstack gave it.
                await lkapi.agent_dispatch.create_dispatch(
                    api.CreateAgentDispatchRequest(
                        agent_name="codevoice-interviewer",
                        room=second["room_name"],
                        metadata=json.dumps({"session_id": second["id"]}),
                    )
                )
                failed = await status_of(second["id"], "failed")
        log = output.read_text(errors="replace")
        assert finished["status"] == "completed", log[-6000:]
        assert '"webhook_event": "room_finished"' in log
        assert failed["status"] == "failed", log[-6000:]
        assert str(failed["failure_reason"]).startswith("Invalid interview description"), failed
    finally:
        children = psutil.Process(devstack.pid).children(recursive=True) if devstack.poll() is None else []
        commands = [command for c in children if (command := _command_line(c))]
        if devstack.poll() is None:
            devstack.send_signal(signal.SIGTERM)
        try:
            devstack.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(devstack.pid, signal.SIGKILL)
            devstack.wait(10)
    # SIGTERM stops every component, livekit-server included
    assert any(Path(c.split(" ", 1)[0]).name == "livekit-server" for c in commands), commands
    assert devstack.returncode == 0, output.read_text(errors="replace")[-4000:]
    assert [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE] == []
