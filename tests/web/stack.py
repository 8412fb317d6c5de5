"""The whole CodeVoice stack for the Chromium tests of the web app, each piece in its own process.

Inside a network namespace (tests/support/netns.py): the real livekit-server, the interviewer agent worker
(optional), and the control plane's listening socket, so that Chromium (also in the namespace) loads the
built web app from http://127.0.0.1:PORT, livekit-server posts its webhooks there, and the agent reports
there. The control plane process itself runs in the host's namespace (it reaches Postgres, Redis and the
test SMTP server on the host's loopback) and serves that socket, handed to it as a file descriptor. The
summary worker runs on the host. A forward on the host's loopback lets the test process call the API too.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from tests.agent.e2e_stack import WORKER_REGISTER_TIMEOUT_S, listen_in_netns
from tests.conftest import TEST_ENV
from tests.support.mailbox import Mailbox
from tests.support.netns import PYTHON, REPO, HostForward, NetnsLiveKit, stop_process

WEB_DIST = REPO / "web" / "dist"
BROWSER_DIR = REPO / "tests" / "browser"
# Serves the already-open socket (inherited as file descriptor argv[1]) with the control plane app.
_SERVE_FD = """
import socket, sys, uvicorn
sock = socket.socket(fileno=int(sys.argv[1]))
config = uvicorn.Config("control_plane.app:create_app", factory=True, log_config=None, access_log=False)
uvicorn.Server(config).run(sockets=[sock])
"""


@dataclass
class WebStack:
    """Attributes: `lk` (the namespace and its livekit-server), `base_url` (the control plane and web app as
    Chromium sees them), `api` (an httpx client for the same API from the test process), `workdir`."""

    lk: NetnsLiveKit
    base_url: str
    api: httpx.Client
    workdir: Path
    env: dict[str, str]
    _procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: dict[str, IO[bytes]] = field(default_factory=dict)
    _forward: HostForward | None = None

    # -- processes ---------------------------------------------------------------------------------------

    def _start(self, name: str, argv: list[str], env: dict[str, str], **kwargs: Any) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self._logs[name] = log
        self._procs[name] = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True, **kwargs
        )

    def log(self, name: str, chars: int = 6000) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def logs(self) -> str:
        """The end of every process's log, for assertion messages."""
        parts = [f"--- {name} ---\n{self.log(name, 3000)}" for name in self._procs]
        return "\n".join([*parts, f"--- livekit-server ---\n{self.lk.server_log()[-3000:]}"])

    def start_agent(self) -> None:
        """The interviewer worker, in the namespace (dispatched by livekit-server, reports over loopback)."""
        env = {
            **self.env,
            "LIVEKIT_URL": self.lk.url,
            "CODEVOICE_CONTROL_PLANE_URL": self.base_url,
            "CODEVOICE_TRANSCRIPT_SPOOL_DIR": str(self.workdir / "spool"),
            "CODEVOICE_LOG_LEVEL": "INFO",
        }
        self._start("agent", self.lk.exec_argv([PYTHON, "-m", "agent", "start"]), env)

    def wait_for_agent(self) -> None:
        deadline = time.monotonic() + WORKER_REGISTER_TIMEOUT_S
        while "registered worker" not in self.log("agent", 10**7):
            if self._procs["agent"].poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the agent worker never registered:\n{self.log('agent')}")
            time.sleep(0.2)

    def stop(self, name: str) -> None:
        proc = self._procs.get(name)
        if proc is not None:
            stop_process(proc)  # type: ignore[arg-type]

    def close(self) -> None:
        for name in reversed(list(self._procs)):
            self.stop(name)
        for log in self._logs.values():
            log.close()
        self.api.close()
        if self._forward is not None:
            self._forward.close()
        self.lk.close()

    # -- the API from the test process -------------------------------------------------------------------

    def sign_in(self, email: str, password: str) -> dict[str, str]:
        response = self.api.post("/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def new_account(self, mailbox: Mailbox, email: str, password: str, name: str = "Test Candidate") -> None:
        """Sign up and confirm through the API (the emailed token), as the web app does."""
        body = {"email": email, "password": password, "display_name": name}
        assert self.api.post("/auth/register", json=body).status_code == 202
        token = Mailbox.confirmation_token(mailbox.wait_for(email)[0])
        response = self.api.post("/auth/confirm-email", json={"token": token})
        assert response.status_code == 200, response.text

    def new_session(self, headers: dict[str, str], **fields: object) -> dict[str, Any]:
        body = {
            "role_title": "Backend Engineer",
            "seniority": "senior",
            "topics": ["Python", "SQL"],
            **fields,
        }
        response = self.api.post("/sessions", json=body, headers=headers)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


def _free_port_in_namespace() -> int:
    # A fresh namespace has no listeners, so any port there is free; keep clear of livekit-server's range.
    return random.randrange(40000, 45000)


def start_stack(workdir: Path, *, agent: bool, cors_origins: tuple[str, ...] = ()) -> WebStack:
    """Start the stack (the agent worker when `agent`); the caller closes it. Needs web/dist (`make web`)."""
    if os.geteuid() != 0:
        pytest.fail("the browser tests need root (`ip netns`)")
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail("web/dist is missing: run `make web`")
    if not (BROWSER_DIR / "node_modules" / "axe-core").is_dir():
        pytest.fail("tests/browser/node_modules is missing: run `make browser-deps`")
    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_port_in_namespace()
    base_url = f"http://127.0.0.1:{port}"
    lk = NetnsLiveKit(
        workdir / "livekit",
        api_key=TEST_ENV["LIVEKIT_API_KEY"],
        api_secret=TEST_ENV["LIVEKIT_API_SECRET"],
        extra_config={
            "webhook": {"api_key": TEST_ENV["LIVEKIT_API_KEY"], "urls": [f"{base_url}/livekit/webhook"]}
        },
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "CODEVOICE_PUBLIC_URL": base_url,
        "CODEVOICE_CORS_ORIGINS": ",".join(cors_origins),
        "CODEVOICE_LOG_LEVEL": "INFO",
    }
    stack: WebStack | None = None
    try:
        lk.start()
        stack = WebStack(lk, base_url, httpx.Client(), workdir, env)
        if agent:
            stack.start_agent()  # first: its speech models take longest to load
        server_env = {**env, "LIVEKIT_URL": lk.host_url, "LIVEKIT_PUBLIC_URL": lk.url}
        listener = listen_in_netns(lk.ns, port)
        listener.setblocking(True)
        try:
            stack._start(
                "control-plane",
                [PYTHON, "-c", _SERVE_FD, str(listener.fileno())],
                server_env,
                pass_fds=(listener.fileno(),),
            )
        finally:
            listener.close()  # the control plane holds its own copy
        stack._start("summary-worker", [PYTHON, "-m", "control_plane.worker"], server_env)
        stack._forward = HostForward(lk.ns, port)
        stack.api = httpx.Client(base_url=f"http://127.0.0.1:{stack._forward.port}", timeout=30)
        _wait_ready(stack)
        if agent:
            stack.wait_for_agent()
        return stack
    except BaseException:
        if stack is not None:
            stack.close()
        else:
            lk.close()
        raise


def _wait_ready(stack: WebStack, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if stack.api.get("/readyz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if stack._procs["control-plane"].poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"the control plane never became ready:\n{stack.log('control-plane')}")


def static_port() -> int:
    """A port for serve_directory (chosen first when the control plane must allow its origin)."""
    return random.randrange(45000, 46000)


def serve_directory(stack: WebStack, directory: Path, port: int) -> str:
    """A static file server for `directory` on loopback inside the namespace; its origin."""
    stack._start(
        f"static-{port}",
        stack.lk.exec_argv(
            [PYTHON, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(directory)]
        ),
        stack.env,
    )
    stack.lk.wait_for_port(port)
    return f"http://127.0.0.1:{port}"
