"""Run the control plane as a real process on a free loopback port, with the test run's settings."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.conftest import TEST_ENV


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """A running control plane process whose output is read as it comes (a full pipe would block the
    server's event loop once about 64 KB of log piled up)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._lines: list[str] = []
        assert process.stdout is not None
        self._reader = threading.Thread(target=self._lines.extend, args=(process.stdout,), daemon=True)
        self._reader.start()

    def stop(self) -> str:
        """Stop the server (SIGTERM) and return everything it wrote."""
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=15)
        self._reader.join(timeout=15)
        return "".join(self._lines)


@contextmanager
def serving(extra_env: dict[str, str]) -> Iterator[tuple[str, Served]]:
    port = free_port()
    env = {**os.environ, **TEST_ENV, **extra_env, "CODEVOICE_PORT": str(port), "CODEVOICE_LOG_LEVEL": "INFO"}
    served = Served(
        subprocess.Popen(
            [sys.executable, "-m", "control_plane", "serve"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base, served
    finally:
        served.stop()
