"""`make dev`: run the whole stack on one machine with development settings.

Applies migrations, then supervises livekit-server (when LIVEKIT_URL points at this machine and nothing
listens there yet; `make livekit-server` installs the pinned release), the control plane API, the summary
worker and the interviewer agent worker (pointed at this control plane: CODEVOICE_CONTROL_PLANE_URL defaults
to CODEVOICE_HOST:CODEVOICE_PORT here). livekit-server runs with livekit.yaml, adjusted to the settings in
force: its port is LIVEKIT_URL's (RTC over TCP on the next one), its key pair is LIVEKIT_API_KEY /
LIVEKIT_API_SECRET's, and its webhook goes to this control plane's CODEVOICE_HOST:CODEVOICE_PORT. Ctrl-C
stops them all; if one of them dies, the others are stopped too, so a broken stack is never mistaken for a
working one."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from control_plane.cli import db_upgrade
from control_plane.lib.livekit_server import LiveKitServerNotFoundError, find_livekit_server
from control_plane.settings import REPO_ROOT, Settings, SettingsError, get_settings

# livekit-server's development config: the dev key pair, and webhooks to the control plane on 127.0.0.1:8000.
LIVEKIT_YAML = REPO_ROOT / "livekit.yaml"
COLORS = ("\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m")
RESET = "\033[0m"


@dataclass(frozen=True)
class Component:
    name: str
    argv: tuple[str, ...]


def _port_open(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def control_plane_url(settings: Settings) -> str:
    """Where this machine's processes reach the control plane that devstack runs (CODEVOICE_HOST/PORT)."""
    host = settings.app.host if settings.app.host not in {"0.0.0.0", "::", ""} else "127.0.0.1"  # noqa: S104
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.app.port}"


def livekit_config(settings: Settings, base: Path = LIVEKIT_YAML) -> dict[str, Any]:
    """livekit.yaml (`base`) with the port, key pair and webhook URL that `settings` imply."""
    config: dict[str, Any] = yaml.safe_load(base.read_text()) or {}
    port = urlparse(settings.livekit.url).port or 7880
    api_key = settings.livekit.api_key
    config["port"] = port
    config["keys"] = {api_key: settings.livekit.api_secret}
    config.setdefault("rtc", {})["tcp_port"] = port + 1
    config["webhook"] = {
        **config.get("webhook", {}),
        "api_key": api_key,
        "urls": [f"{control_plane_url(settings)}/livekit/webhook"],
    }
    return config


def _components(workdir: Path) -> list[Component]:
    settings = get_settings()
    python = sys.executable
    components: list[Component] = []
    livekit = urlparse(settings.livekit.url)
    on_this_machine = livekit.hostname in {"127.0.0.1", "localhost", "::1"}
    if on_this_machine and not _port_open(livekit.hostname or "127.0.0.1", livekit.port or 7880):
        server = find_livekit_server()
        config = workdir / "livekit.yaml"
        config.write_text(yaml.safe_dump(livekit_config(settings)))
        print(f"devstack: livekit-server {server} --config {config} (livekit.yaml for these settings)")
        components.append(Component("livekit", (str(server), "--config", str(config))))
    components.append(Component("api", (python, "-m", "control_plane", "serve")))
    components.append(Component("worker", (python, "-m", "control_plane.worker")))
    components.append(Component("agent", (python, "-m", "agent", "start")))
    return components


async def _pump(name: str, color: str, stream: asyncio.StreamReader) -> None:
    prefix = f"{color}{name:>7}{RESET} | " if sys.stdout.isatty() else f"{name:>7} | "
    while line := await stream.readline():
        sys.stdout.write(prefix + line.decode(errors="replace"))
        sys.stdout.flush()


async def _supervise(components: list[Component]) -> int:
    processes: list[tuple[Component, asyncio.subprocess.Process]] = []
    pumps: list[asyncio.Task[None]] = []
    for index, component in enumerate(components):
        process = await asyncio.create_subprocess_exec(
            *component.argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=os.environ.copy(),
        )
        assert process.stdout is not None
        pumps.append(asyncio.create_task(_pump(component.name, COLORS[index % len(COLORS)], process.stdout)))
        processes.append((component, process))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    waiters = {asyncio.create_task(process.wait()): component for component, process in processes}
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*waiters, stopper], return_when=asyncio.FIRST_COMPLETED)
    exit_code = 0
    for task in done:
        if task in waiters:
            print(f"devstack: {waiters[task].name} exited with code {task.result()}; stopping the others")
            exit_code = 1
    for _, process in processes:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    await asyncio.gather(*(process.wait() for _, process in processes))
    await asyncio.gather(*pumps, return_exceptions=True)
    return exit_code


def main() -> int:
    os.environ.setdefault("CODEVOICE_ENV", "dev")
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 2
    if "CODEVOICE_CONTROL_PLANE_URL" not in os.environ and not settings.agent.control_plane_socket:
        # The agent reports to the control plane that this stack runs, on whatever port it was given.
        os.environ["CODEVOICE_CONTROL_PLANE_URL"] = control_plane_url(settings)
    if "CODEVOICE_PUBLIC_URL" not in os.environ:
        # Links in sign-up mail (logged in the dev profile) open the web app this stack serves.
        os.environ["CODEVOICE_PUBLIC_URL"] = f"http://{settings.app.host}:{settings.app.port}"
    with tempfile.TemporaryDirectory(prefix="codevoice-dev-") as workdir:
        try:
            components = _components(Path(workdir))
        except LiveKitServerNotFoundError as exc:
            print(f"devstack: {exc}", file=sys.stderr)
            return 2
        print("devstack: applying migrations")
        db_upgrade()
        print("devstack: starting " + ", ".join(c.name for c in components))
        return asyncio.run(_supervise(components))


if __name__ == "__main__":
    sys.exit(main())
