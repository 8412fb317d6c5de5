"""The pinned livekit-server: one pin (scripts/livekit-server.sh), the same release in docker-compose.yml and
in the binary that `make livekit-server` installs, and clear answers from the install script when the
pinned binary is on PATH already or Go is missing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from control_plane.lib.livekit_server import (
    INSTALL_SCRIPT,
    binary_version,
    find_livekit_server,
    pinned_version,
)
from control_plane.settings import REPO_ROOT

# What the install script itself runs, besides bash's builtins.
SCRIPT_TOOLS = ("bash", "awk", "readlink", "mkdir", "ln", "cat", "mktemp", "mv", "rm", "dirname")


def test_compose_and_the_installed_binary_use_the_pinned_release() -> None:
    version = pinned_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["livekit"]["image"] == f"livekit/livekit-server:v{version}"
    assert binary_version(find_livekit_server()) == version


def _sandbox(tmp_path: Path, *, with_livekit: bool) -> tuple[Path, dict[str, str]]:
    """A copy of the script in an empty project, and a PATH holding only the tools it needs (no Go)."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(INSTALL_SCRIPT, project / "scripts" / INSTALL_SCRIPT.name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in SCRIPT_TOOLS:
        found = shutil.which(tool)
        assert found is not None, tool
        (bin_dir / tool).symlink_to(found)
    if with_livekit:
        (bin_dir / "livekit-server").symlink_to(find_livekit_server().resolve())
    # GOROOT names a Go installation that does not exist: the script also looks there for `go`.
    env = {"PATH": str(bin_dir), "HOME": os.environ.get("HOME", "/root"), "GOROOT": str(tmp_path / "no-go")}
    return project, env


def _install(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(project / "scripts" / INSTALL_SCRIPT.name)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        executable=shutil.which("bash"),
    )


def test_without_go_the_script_says_what_to_install_and_what_else_works(tmp_path: Path) -> None:
    project, env = _sandbox(tmp_path, with_livekit=False)
    result = _install(project, env)
    assert result.returncode == 1
    assert "Go is not installed" in result.stderr
    assert f"v{pinned_version()}" in result.stderr
    assert "LiveKit Cloud" in result.stderr
    assert "LIVEKIT_URL" in result.stderr
    assert not (project / ".tools" / "bin" / "livekit-server").exists()


def test_a_pinned_livekit_server_on_path_is_used_and_a_second_run_does_nothing(tmp_path: Path) -> None:
    project, env = _sandbox(tmp_path, with_livekit=True)
    first = _install(project, env)
    assert first.returncode == 0, first.stderr
    assert "using" in first.stdout
    installed = project / ".tools" / "bin" / "livekit-server"
    assert installed.is_symlink()
    assert binary_version(installed) == pinned_version()
    second = _install(project, env)
    assert (second.returncode, second.stdout, second.stderr) == (0, "", "")
