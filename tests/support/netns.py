"""Run the local LiveKit server and WebRTC clients inside a private network namespace.

WebRTC cannot connect over loopback alone here (libwebrtc gathers no loopback candidates and aioice skips
127.0.0.1), and tests must never send media to the host's own interfaces. So each `NetnsLiveKit` creates a
uniquely named namespace holding a veth pair with both ends inside it (10.78.0.1/24 and 10.78.0.2/24, plus
`lo`), starts `python -m local_livekit --config livekit.yaml` in it, and runs every client in it with
`ip netns exec`. Signaling goes to ws://127.0.0.1:PORT and ICE uses the veth addresses. Everything is torn
down on `close()` (processes killed, namespace deleted), also when a test fails.

Needs root (`ip netns`). Typical use:

    with NetnsLiveKit(tmp_path) as lk:
        result = lk.run_python(CLIENTS / "tone_receiver.py", "--room", "r1", timeout=60)
        assert result.json["peak_hz"] == ...

or the `netns_livekit` pytest fixture from tests/local_livekit/conftest.py.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
VETH_ADDRESSES = ("10.78.0.1", "10.78.0.2")
_WAIT_FOR_PORT = """
import socket, sys, time
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
"""


class NetnsError(RuntimeError):
    """The namespace or the server inside it could not be set up."""


@dataclass
class ClientResult:
    """A finished client: its exit code, output, and the last JSON line it printed (None when none)."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict[str, Any]:
        for line in reversed(self.stdout.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                parsed: dict[str, Any] = json.loads(line)
                return parsed
        raise AssertionError(
            f"client printed no JSON line\nstdout:\n{self.stdout}\nstderr:\n{self.stderr[-4000:]}"
        )

    def check(self) -> ClientResult:
        if self.returncode != 0:
            raise AssertionError(
                f"client {self.argv} exited {self.returncode}\n"
                f"stdout:\n{self.stdout}\nstderr:\n{self.stderr[-6000:]}"
            )
        return self


def _run(argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=30)


class NetnsLiveKit:
    """A network namespace with the local LiveKit server running inside it.

    Attributes: `ns` (namespace name), `port`, `url` (ws://127.0.0.1:PORT, valid inside the namespace),
    `http_url`, `api_key`, `api_secret`, `workdir` (config and logs).
    """

    def __init__(
        self,
        workdir: Path,
        *,
        api_key: str = "devkey",
        api_secret: str = "secret-for-netns-tests-0123456789",
        extra_config: dict[str, Any] | None = None,
    ) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.api_key = api_key
        self.api_secret = api_secret
        self.ns = f"lk{os.getpid() % 100000}{random.randrange(16**6):06x}"
        # A fresh namespace has no listeners at all, so any port below the ephemeral range is free in it.
        self.port = random.randrange(20000, 32000)
        self.url = f"ws://127.0.0.1:{self.port}"
        self.http_url = f"http://127.0.0.1:{self.port}"
        self._extra_config = extra_config or {}
        self._procs: list[subprocess.Popen[str]] = []
        self._server: subprocess.Popen[str] | None = None
        self._created = False

    # -- setup / teardown ----------------------------------------------------------------------------------

    def __enter__(self) -> NetnsLiveKit:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> NetnsLiveKit:
        self._create_namespace()
        config_path = self.workdir / "livekit.yaml"
        config = {
            "port": self.port,
            "bind_addresses": ["127.0.0.1"],
            "keys": {self.api_key: self.api_secret},
            "rtc": {"node_ip": VETH_ADDRESSES[0]},
            "room": {"empty_timeout": 30, "departure_timeout": 5},
        }
        config.update(self._extra_config)
        config_path.write_text(yaml.safe_dump(config))
        log = (self.workdir / "server.log").open("w")
        self._server = subprocess.Popen(
            self.exec_argv([PYTHON, "-m", "local_livekit", "--config", str(config_path)]),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=REPO,
            env=self._env(None),
            start_new_session=True,
        )
        self._procs.append(self._server)
        if not self.wait_for_port(self.port, raise_error=False) or self._server.poll() is not None:
            raise NetnsError(f"server did not start in {self.ns}:\n{self.server_log()}")
        return self

    def wait_for_port(self, port: int, timeout: float = 20, *, raise_error: bool = True) -> bool:
        """Wait until something listens on 127.0.0.1:port inside the namespace."""
        waited = subprocess.run(
            self.exec_argv([PYTHON, "-c", _WAIT_FOR_PORT, str(port), str(timeout)]),
            check=False,
            timeout=timeout + 10,
        )
        if waited.returncode != 0 and raise_error:
            raise NetnsError(f"nothing listens on port {port} in {self.ns}")
        return waited.returncode == 0

    def _create_namespace(self) -> None:
        _run(["ip", "netns", "add", self.ns])
        self._created = True
        _run(["ip", "-n", self.ns, "link", "set", "lo", "up"])
        _run(["ip", "-n", self.ns, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1"])
        for device, address in zip(("veth0", "veth1"), VETH_ADDRESSES, strict=True):
            _run(["ip", "-n", self.ns, "addr", "add", f"{address}/24", "dev", device])
            _run(["ip", "-n", self.ns, "link", "set", device, "up"])

    def close(self) -> None:
        for proc in reversed(self._procs):
            _stop(proc)
        self._procs.clear()
        if self._created:
            _run(["ip", "netns", "del", self.ns], check=False)
            self._created = False

    # -- running things inside -----------------------------------------------------------------------------

    def exec_argv(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns, *argv]

    def _env(self, env: dict[str, str] | None) -> dict[str, str]:
        merged = dict(os.environ)
        merged.update(
            {
                "LIVEKIT_URL": self.url,
                "LIVEKIT_API_KEY": self.api_key,
                "LIVEKIT_API_SECRET": self.api_secret,
                "PYTHONPATH": os.pathsep.join([str(REPO), merged.get("PYTHONPATH", "")]).rstrip(os.pathsep),
                "PYTHONUNBUFFERED": "1",
            }
        )
        merged.update(env or {})
        return merged

    def popen(self, argv: list[str], *, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Start a program inside the namespace (LIVEKIT_URL/API_KEY/API_SECRET set); stopped on close()."""
        proc = subprocess.Popen(
            self.exec_argv(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=self._env(env),
            start_new_session=True,
        )
        self._procs.append(proc)
        return proc

    def popen_python(
        self, script: Path, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[str]:
        return self.popen([PYTHON, str(script), *args], env=env)

    def wait(self, proc: subprocess.Popen[str], timeout: float = 120) -> ClientResult:
        """Wait for a program started with popen() and collect its output."""
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(proc)
            stdout, stderr = proc.communicate()
            stderr += f"\n[netns] killed after {timeout}s"
        return ClientResult([str(a) for a in proc.args], proc.returncode, stdout, stderr)  # type: ignore[union-attr]

    def run_python(
        self, script: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> ClientResult:
        """Run a Python client to completion inside the namespace."""
        return self.wait(self.popen_python(script, *args, env=env), timeout)

    def server_log(self) -> str:
        path = self.workdir / "server.log"
        return path.read_text() if path.exists() else ""

    @property
    def server_pid(self) -> int:
        """The pid of `ip netns exec`, which execs the server, so it is the server's pid."""
        assert self._server is not None
        return self._server.pid

    def server_alive(self) -> bool:
        return self._server is not None and self._server.poll() is None


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        proc.wait(timeout=5)


def mint_token(lk: NetnsLiveKit, identity: str, room: str, *, ttl_s: float = 600, **grants: Any) -> str:
    """A join token for the server in `lk` (grants as livekit.api.VideoGrants keywords)."""
    import datetime

    from livekit import api

    return (
        api.AccessToken(lk.api_key, lk.api_secret)
        .with_identity(identity)
        .with_ttl(datetime.timedelta(seconds=ttl_s))
        .with_grants(api.VideoGrants(room_join=True, room=room, **grants))
        .to_jwt()
    )


def wait_until(predicate: Any, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
