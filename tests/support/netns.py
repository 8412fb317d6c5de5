"""Run the real livekit-server and WebRTC clients inside a private network namespace.

WebRTC cannot connect over loopback alone here (libwebrtc gathers no loopback candidates), and tests must
never send media to the host's own interfaces. So each `NetnsLiveKit` creates a uniquely named namespace
holding a veth pair with both ends inside it (10.78.0.1/24 and 10.78.0.2/24, plus `lo`), writes a
livekit.yaml for it (the veth address as `rtc.node_ip`, no external IP discovery, one UDP mux port,
explicit keys, short room timeouts, and any webhook URLs the test names), starts the pinned livekit-server
(`make livekit-server`) with it inside the namespace, and runs every client there with `ip netns exec`.
Signaling goes to ws://127.0.0.1:PORT and ICE uses the veth addresses. Everything is torn down on `close()`
(processes killed, namespace deleted), also when a test fails.

Needs root (`ip netns`). Typical use:

    with NetnsLiveKit(tmp_path) as lk:
        result = lk.run_python(CLIENTS / "tone_receiver.py", "--room", "r1", timeout=60)
        assert result.json["peak_hz"] == ...

or the `netns_livekit` pytest fixture from tests/sfu/conftest.py.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from control_plane.lib.livekit_server import find_livekit_server

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
VETH_ADDRESSES = ("10.78.0.1", "10.78.0.2")
CLONE_NEWNET = 0x40000000
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


def enter_netns(ns: str) -> None:
    """Move the calling thread (only it) into namespace `ns`; sockets it creates then belong there."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns failed")
    finally:
        os.close(fd)


class HostForward:
    """A TCP port on the host's 127.0.0.1 that forwards each connection to 127.0.0.1:`port` in namespace `ns`.

    It lets code in the test process (the control plane calling RoomService, a test calling
    AgentDispatchService) reach the server in the namespace: the listening socket is made in the host's
    namespace, and a thread that has joined `ns` runs the event loop that opens the onward connections there.
    Loopback to loopback only; nothing touches another interface.
    """

    def __init__(self, ns: str, port: int) -> None:
        self._target = port
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(ns,), name=f"forward-{ns}", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise NetnsError(f"cannot forward into {ns}: {self._error}")

    def _run(self, ns: str) -> None:
        try:
            enter_netns(ns)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, sock=self._listener)
            )
        except BaseException as exc:  # reported by __init__
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self._target)
        except OSError:
            client_w.close()
            return

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while chunk := await reader.read(65536):
                    writer.write(chunk)
                    await writer.drain()
            except OSError:
                pass
            finally:
                writer.close()

        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def close(self) -> None:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._listener.close()


def _run(argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=30)


class NetnsLiveKit:
    """A network namespace with the real livekit-server running inside it.

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
        self._forward: HostForward | None = None
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
        config_path.write_text(yaml.safe_dump(self.config()))
        log = (self.workdir / "server.log").open("w")
        self._server = subprocess.Popen(
            self.exec_argv([str(find_livekit_server()), "--config", str(config_path)]),
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

    def config(self) -> dict[str, Any]:
        """The livekit.yaml this server runs with (`extra_config` replaces whole top-level sections)."""
        config: dict[str, Any] = {
            "port": self.port,
            "bind_addresses": ["127.0.0.1"],
            "keys": {self.api_key: self.api_secret},
            "rtc": {
                # Set explicitly: an auto-detected node IP makes the server add public STUN servers.
                "node_ip": VETH_ADDRESSES[0],
                "use_external_ip": False,
                "udp_port": self.port + 1,
                "tcp_port": self.port + 2,
            },
            "room": {"empty_timeout": 30, "departure_timeout": 5},
            "logging": {"level": "info", "json": True},
        }
        config.update(self._extra_config)
        return config

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

    @property
    def host_http_url(self) -> str:
        """http://127.0.0.1:PORT in the host's namespace, forwarded to the server (for RoomService, etc.)."""
        if self._forward is None:
            self._forward = HostForward(self.ns, self.port)
        return f"http://127.0.0.1:{self._forward.port}"

    @property
    def host_url(self) -> str:
        """The ws:// form of host_http_url, for LIVEKIT_URL in the test process."""
        return self.host_http_url.replace("http://", "ws://", 1)

    def close(self) -> None:
        if self._forward is not None:
            self._forward.close()
            self._forward = None
        for proc in reversed(self._procs):
            stop_process(proc)
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
            stop_process(proc)
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


def stop_process(proc: subprocess.Popen[str], grace_s: float = 5) -> None:
    """SIGTERM to the process group, SIGKILL after `grace_s` (an agent worker drains its jobs meanwhile)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace_s)
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
