"""The web app's own checks (ESLint, TypeScript, Vitest), so that `make test` / pytest covers them.

`make test` installs web/node_modules first: `npm ci` from web/package-lock.json (the Makefile's web
target)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"


@pytest.mark.parametrize("script", ["lint", "typecheck", "test"])
def test_npm_script(script: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not installed: the web app's checks need Node.js 20 and npm")
    if not (WEB / "node_modules").is_dir():
        pytest.fail("web/node_modules is missing: run `make web` (npm ci) first")
    result = subprocess.run(
        [npm, "run", "--silent", script], cwd=WEB, capture_output=True, text=True, timeout=240, check=False
    )
    assert result.returncode == 0, f"npm run {script} failed:\n{result.stdout}\n{result.stderr}"
