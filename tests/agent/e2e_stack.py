"""The end-to-end stack shared by the WebRTC tests: the real livekit-server, the interviewer worker and a
candidate inside a network namespace the test creates (tests/support/netns.py), and the real control plane
app in the test process.

The control plane listens on two sockets of one uvicorn server: a Unix socket (the agent's route, through
`CODEVOICE_CONTROL_PLANE_SOCKET`) and a TCP socket on 127.0.0.1 *inside* the namespace, opened from a
thread that briefly joins the namespace, so livekit-server can post its webhooks to it. A second webhook
URL in the namespace goes to a `WebhookRecorder`, which keeps every verified event with its arrival time,
so tests can assert what the server really sends (disconnect reasons, order, timing). No test traffic
leaves loopback or the namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import wave
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from aiohttp import web
from litestar import Litestar
from litestar.testing import AsyncTestClient
from livekit import api
from livekit.protocol.webhook import WebhookEvent

from tests.agent.audio import espeak_pcm, silence
from tests.conftest import TEST_ENV
from tests.support.netns import NetnsLiveKit, enter_netns

REPO = Path(__file__).resolve().parents[2]
CANDIDATE = Path(__file__).parent / "clients" / "candidate.py"
# The worker registers once its first job process has loaded the speech models, which agent.worker allows
# 120 s (initialize_process_timeout): on a busy 2-core machine that takes well over a minute.
WORKER_REGISTER_TIMEOUT_S = 180.0


def write_wav(path: Path, pcm: bytes) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(pcm)
    return path


def listen_in_netns(ns: str, port: int) -> socket.socket:
    """A listening TCP socket on 127.0.0.1:port inside namespace `ns` (a socket keeps its namespace)."""
    result: list[socket.socket | BaseException] = []

    def opener() -> None:
        try:
            enter_netns(ns)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
            sock.listen(64)
            sock.setblocking(False)
            result.append(sock)
        except BaseException as exc:  # reported to the caller below
            result.append(exc)

    # The thread ends right after, so the namespace switch never leaks into other work.
    thread = threading.Thread(target=opener, name=f"netns-listen-{ns}")
    thread.start()
    thread.join()
    outcome = result[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


@contextlib.contextmanager
def rejoin_grace(seconds: float) -> Iterator[None]:
    """Within it, interviews give a candidate who dropped out `seconds` to rejoin, on both sides of the
    stack: the control plane in this process (its room tokens keep the room open that long plus a margin)
    and the worker an `interview_stack` inside it starts (it inherits this environment). Mint tokens
    inside it."""
    from control_plane.settings import get_settings

    name = "CODEVOICE_CANDIDATE_REJOIN_GRACE_S"
    before = os.environ.get(name)
    os.environ[name] = str(seconds)
    get_settings.cache_clear()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before
        get_settings.cache_clear()


@dataclass(frozen=True)
class ReceivedWebhook:
    at: float  # time.monotonic() on arrival
    event: WebhookEvent


class WebhookRecorder:
    """A second webhook receiver for livekit-server, inside the namespace (an aiohttp app on a socket opened
    there): it checks each delivery's signature (livekit.api.WebhookReceiver) and keeps the event and its
    arrival time, in arrival order."""

    def __init__(self, sock: socket.socket, api_key: str, api_secret: str) -> None:
        self._sock = sock
        self._receiver = api.WebhookReceiver(api.TokenVerifier(api_key, api_secret))
        self.received: list[ReceivedWebhook] = []
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        event = self._receiver.receive(await request.text(), token)
        self.received.append(ReceivedWebhook(time.monotonic(), event))
        return web.Response()

    def events(self, room: str, kind: str | None = None) -> list[ReceivedWebhook]:
        return [
            r for r in self.received if r.event.room.name == room and (kind is None or r.event.event == kind)
        ]

    async def wait_for(self, room: str, kind: str, timeout: float, count: int = 1) -> list[ReceivedWebhook]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(found := self.events(room, kind)) >= count:
                return found
            await asyncio.sleep(0.1)
        raise AssertionError(
            f"no {kind} x{count} for {room} within {timeout} s; got "
            f"{[r.event.event for r in self.events(room)]}"
        )


async def wait_for_text(path: Path, text: str, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        await asyncio.sleep(0.2)
    raise AssertionError(f"worker never logged {text!r}:\n{path.read_text(errors='replace')[-6000:]}")


@dataclass
class InterviewStack:
    lk: NetnsLiveKit
    worker: subprocess.Popen[bytes]
    worker_log: Path
    tmp_path: Path
    client: AsyncTestClient[Litestar]
    webhooks: WebhookRecorder | None

    def log_tail(self, chars: int = 8000) -> str:
        return self.worker_log.read_text(errors="replace")[-chars:]

    async def wait_for_log(self, text: str, timeout: float = 30) -> str:
        """The worker's log once it holds `text`: a status seen through the control plane can come
        from a webhook before the job has logged how it ended."""
        await wait_for_text(self.worker_log, text, timeout, self.worker)
        return self.log_tail(200_000)

    async def wait_for_log_count(self, text: str, count: int, timeout: float = 30) -> None:
        """Wait until the worker's log holds `text` at least `count` times."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.worker.poll() is None:
            if self.worker_log.read_text(errors="replace").count(text) >= count:
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"worker never logged {text!r} x{count}:\n{self.log_tail()}")

    def start_candidate(
        self,
        token: str,
        answer: str,
        *,
        leave_signal: Path,
        timeout_s: float = 150,
        skip_greeting: bool = False,
    ) -> subprocess.Popen[str]:
        answer_wav = write_wav(
            self.tmp_path / f"answer-{uuid.uuid4().hex[:6]}.wav",
            silence(0.3) + espeak_pcm(answer, self.tmp_path) + silence(4.0),
        )
        return self.lk.popen_python(
            CANDIDATE,
            "--url",
            self.lk.url,
            "--token",
            token,
            "--answer-wav",
            str(answer_wav),
            "--leave-when",
            str(leave_signal),
            "--timeout",
            str(timeout_s),
            *(["--skip-greeting"] if skip_greeting else []),
        )

    async def wait_for_candidate_turn(
        self, session_id: uuid.UUID, headers: dict[str, str], timeout: float = 120
    ) -> list[dict[str, object]]:
        """Poll the stored transcript until it holds a candidate turn."""
        segments: list[dict[str, object]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.worker.poll() is None:
            response = await self.client.get(f"/sessions/{session_id}/transcript", headers=headers)
            segments = response.json()["segments"]
            if any(s["speaker"] == "candidate" for s in segments):
                return segments
            await asyncio.sleep(0.5)
        raise AssertionError(f"no candidate turn in {segments}; worker log:\n{self.log_tail()}")

    async def wait_for_status(
        self, session_id: uuid.UUID, headers: dict[str, str], wanted: str, timeout: float = 30
    ) -> dict[str, object]:
        body: dict[str, object] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = (await self.client.get(f"/sessions/{session_id}", headers=headers)).json()
            if body["status"] == wanted:
                return body
            await asyncio.sleep(0.3)
        raise AssertionError(
            f"session stayed {body.get('status')!r}, wanted {wanted!r}: {body}\n"
            f"server log:\n{self.lk.server_log()[-4000:]}\nworker log:\n{self.log_tail()}"
        )

    def job_pid(self) -> int:
        """The pid of the job process running the interview (it logs it when it joins the room)."""
        pids = []
        for line in self.worker_log.read_text(errors="replace").splitlines():
            if '"job.joined_room"' in line and line.startswith("{"):
                pids.append(int(json.loads(line)["pid"]))
        if not pids:
            raise AssertionError(f"the job never logged its pid:\n{self.log_tail()}")
        return pids[-1]


@contextlib.asynccontextmanager
async def interview_stack(
    tmp_path: Path,
    client: AsyncTestClient[Litestar],
    *,
    webhooks: bool = True,
    worker_env: dict[str, str] | None = None,
) -> AsyncIterator[InterviewStack]:
    """Control plane (Unix socket + webhook port in the namespace), livekit-server (posting its webhooks to
    the control plane and to a WebhookRecorder when `webhooks`), a started worker (`worker_env` adds to its
    environment)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.fail("this test needs root and iproute2 (`ip netns`)")
    from control_plane.app import create_app

    socket_path = tmp_path / "control-plane.sock"
    unix_sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix_sock.bind(str(socket_path))
    unix_sock.listen(64)
    unix_sock.setblocking(False)
    # A fresh namespace has no listeners, so any port there is free; keep clear of the server's range.
    webhook_port = random.randrange(33000, 40000)
    recorder_port = webhook_port + 1
    extra: dict[str, object] = {}
    if webhooks:
        extra["webhook"] = {
            "api_key": TEST_ENV["LIVEKIT_API_KEY"],
            "urls": [
                f"http://127.0.0.1:{webhook_port}/livekit/webhook",
                f"http://127.0.0.1:{recorder_port}/recorded",
            ],
        }
    recorder: WebhookRecorder | None = None
    worker: subprocess.Popen[bytes] | None = None
    server: uvicorn.Server | None = None
    serving: asyncio.Task[None] | None = None
    try:
        with NetnsLiveKit(
            tmp_path / "livekit",
            api_key=TEST_ENV["LIVEKIT_API_KEY"],
            api_secret=TEST_ENV["LIVEKIT_API_SECRET"],
            extra_config=extra,
        ) as lk:
            sockets = [unix_sock]
            if webhooks:
                sockets.append(listen_in_netns(lk.ns, webhook_port))
                recorder = WebhookRecorder(listen_in_netns(lk.ns, recorder_port), lk.api_key, lk.api_secret)
                await recorder.start()
            server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
            serving = asyncio.create_task(server.serve(sockets=sockets))
            while not server.started:
                if serving.done():
                    serving.result()
                await asyncio.sleep(0.05)
            env = {
                **os.environ,
                "LIVEKIT_URL": lk.url,
                "CODEVOICE_CONTROL_PLANE_SOCKET": str(socket_path),
                "CODEVOICE_CONTROL_PLANE_URL": "http://control-plane",
                "CODEVOICE_LOG_LEVEL": "INFO",
                "PYTHONPATH": str(REPO),
                "PYTHONUNBUFFERED": "1",
                "CODEVOICE_TRANSCRIPT_SPOOL_DIR": str(tmp_path / "spool"),
                **(worker_env or {}),
            }
            worker_log = tmp_path / "worker.log"
            with worker_log.open("wb") as log_file:
                worker = subprocess.Popen(
                    lk.exec_argv([sys.executable, "-m", "agent", "start"]),
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=REPO,
                    start_new_session=True,
                )
            await wait_for_text(worker_log, "registered worker", WORKER_REGISTER_TIMEOUT_S, worker)
            yield InterviewStack(lk, worker, worker_log, tmp_path, client, recorder)
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
        if server is not None and serving is not None:
            server.should_exit = True
            await serving
        if recorder is not None:
            await recorder.close()
        unix_sock.close()
