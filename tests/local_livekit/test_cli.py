"""`local-livekit` / `python -m local_livekit` as a user starts it (loopback only, no media)."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from pathlib import Path

LOCAL_LIVEKIT = Path(sys.executable).parent / "local-livekit"


def test_dev_server_starts_says_what_it_is_for_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [str(LOCAL_LIVEKIT), "--dev", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        assert "development and tests only; production uses livekit-server" in lines[0]
        port = re.search(r"port=(\d+)", lines[1])
        assert port, lines
        with urllib.request.urlopen(f"http://127.0.0.1:{port.group(1)}/", timeout=5) as response:
            assert response.read() == b"OK"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_bad_config_exits_with_a_message(tmp_path: Path) -> None:
    config = tmp_path / "livekit.yaml"
    config.write_text("port: 7880\n")
    result = subprocess.run(
        [sys.executable, "-m", "local_livekit", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "no API keys" in result.stderr
