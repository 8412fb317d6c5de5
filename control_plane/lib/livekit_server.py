"""Find the pinned livekit-server binary that `make livekit-server` (scripts/livekit-server.sh) installs.

The pin lives in `scripts/livekit-server.sh` (`LIVEKIT_SERVER_VERSION=vX.Y.Z`). The binary is looked up at
`.tools/bin/livekit-server` in the source tree first, then on PATH. Used by `make dev` (devstack) and by the
tests' network-namespace fixture; production runs livekit-server or LiveKit Cloud on its own.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from control_plane.settings import REPO_ROOT

INSTALL_SCRIPT = REPO_ROOT / "scripts" / "livekit-server.sh"
LOCAL_BINARY = REPO_ROOT / ".tools" / "bin" / "livekit-server"


class LiveKitServerNotFoundError(RuntimeError):
    """No livekit-server binary: the message says how to install one or use another server."""


def pinned_version() -> str:
    """The pinned release without its `v` ("1.13.5"), read from scripts/livekit-server.sh."""
    match = re.search(r"^LIVEKIT_SERVER_VERSION=v(\S+)$", INSTALL_SCRIPT.read_text(), re.MULTILINE)
    if match is None:
        raise LiveKitServerNotFoundError(f"no LIVEKIT_SERVER_VERSION=v... line in {INSTALL_SCRIPT}")
    return match.group(1)


def binary_version(binary: Path) -> str:
    """What `livekit-server --version` reports ("livekit-server version 1.13.5" → "1.13.5")."""
    out = subprocess.run(  # noqa: S603 - a path we located ourselves
        [str(binary), "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    return out.strip().rsplit(" ", 1)[-1]


def find_livekit_server() -> Path:
    """The livekit-server to run: `.tools/bin/livekit-server`, else one on PATH.

    Raises LiveKitServerNotFoundError naming `make livekit-server` and the alternatives when there is none.
    """
    if LOCAL_BINARY.exists():
        return LOCAL_BINARY
    on_path = shutil.which("livekit-server")
    if on_path is not None:
        return Path(on_path)
    raise LiveKitServerNotFoundError(
        f"livekit-server is not installed: run `make livekit-server` (builds v{pinned_version()} with Go "
        "into .tools/bin), or set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET to a running "
        "livekit-server or to LiveKit Cloud"
    )
