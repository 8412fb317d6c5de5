"""`make dev`: run the whole stack on one machine with development settings.

Applies migrations, then supervises the local LiveKit-protocol server (when LIVEKIT_URL points at it),
the control plane API, the summary worker and the interviewer agent worker. Ctrl-C stops them all;
if one of them dies, the others are stopped too, so a broken stack is never mistaken for a working one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from dataclasses import dataclass
from urllib.parse import urlparse

from control_plane.cli import db_upgrade
from control_plane.settings import REPO_ROOT, SettingsError, get_settings

# The file real livekit-server reads; it also points webhooks at the control plane.
LIVEKIT_YAML = REPO_ROOT / "livekit.yaml"
COLORS = ("\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m")
RESET = "\033[0m"


@dataclass(frozen=True)
class Component:
    name: str
    argv: tuple[str, ...]


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _components() -> list[Component]:
    settings = get_settings()
    python = sys.executable
    components: list[Component] = []
    livekit = urlparse(settings.livekit.url)
    local_livekit = livekit.hostname in {"127.0.0.1", "localhost"}
    if local_livekit and not _port_open(livekit.hostname or "127.0.0.1", livekit.port or 7880):
        components.append(
            Component(
                "livekit",
                (
                    python,
                    "-m",
                    "local_livekit",
                    "--config",
                    str(LIVEKIT_YAML),
                    "--port",
                    str(livekit.port or 7880),
                ),
            )
        )
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
        get_settings()
    except SettingsError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 2
    print("devstack: applying migrations")
    db_upgrade()
    components = _components()
    print("devstack: starting " + ", ".join(c.name for c in components))
    return asyncio.run(_supervise(components))


if __name__ == "__main__":
    sys.exit(main())
