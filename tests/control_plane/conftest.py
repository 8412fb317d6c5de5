"""Fixtures of the control plane tests that need more than the app: the real livekit-server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from control_plane.settings import get_settings
from tests.conftest import TEST_ENV
from tests.support.netns import NetnsLiveKit


def use_livekit(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("LIVEKIT_URL", url)
    get_settings.cache_clear()


@pytest.fixture
def livekit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[NetnsLiveKit]:
    """The real livekit-server with the control plane's keys; the app's LIVEKIT_URL points at it."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.fail("this test needs root and iproute2 (`ip netns`)")
    with NetnsLiveKit(
        tmp_path / "livekit", api_key=TEST_ENV["LIVEKIT_API_KEY"], api_secret=TEST_ENV["LIVEKIT_API_SECRET"]
    ) as lk:
        use_livekit(monkeypatch, lk.host_url)
        try:
            yield lk
        finally:
            get_settings.cache_clear()  # monkeypatch restores LIVEKIT_URL next; the next read sees it
