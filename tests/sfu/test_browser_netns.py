"""Real Chromium (livekit-client from npm, driven by Playwright) and a Python rtc SDK participant exchange
audio through the real livekit-server, both ways (all inside a network namespace)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sfu.conftest import CLIENTS
from tests.support.netns import PYTHON, NetnsLiveKit

pytestmark = [pytest.mark.netns, pytest.mark.browser, pytest.mark.slow]

BROWSER_DIR = Path(__file__).resolve().parents[1] / "browser"
BUNDLE = BROWSER_DIR / "node_modules" / "livekit-client" / "dist" / "livekit-client.umd.js"
TONE_HZ = 523.0


@pytest.fixture(scope="module")
def page_url(netns_livekit: NetnsLiveKit) -> Iterator[str]:
    """tests/browser served over loopback inside the namespace (livekit-client comes from node_modules)."""
    if not BUNDLE.exists():
        pytest.fail(f"{BUNDLE} missing: run `npm ci --prefix tests/browser`")
    port = random.randrange(32000, 32700)
    server = netns_livekit.popen(
        [PYTHON, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(BROWSER_DIR)]
    )
    netns_livekit.wait_for_port(port)
    yield f"http://127.0.0.1:{port}/peer.html"
    server.terminate()


def test_browser_tone_reaches_python(netns_livekit: NetnsLiveKit, page_url: str) -> None:
    lk = netns_livekit
    room = "browser-to-python"
    listener = lk.popen_python(
        CLIENTS / "tone_receiver.py", "--room", room, "--identity", "py", "--from", "chrome"
    )
    browser = lk.popen_python(
        CLIENTS / "browser_peer.py",
        "--page",
        page_url,
        "--mode",
        "publish",
        "--room",
        room,
        "--identity",
        "chrome",
        "--peer",
        "py",
        "--frequency",
        str(TONE_HZ),
    )
    heard = lk.wait(listener, 120).check().json
    sent = lk.wait(browser, 120).check().json
    assert sent["ok"], sent
    assert heard["heard"], heard
    assert heard["track_sid"] == sent["track_sid"], heard
    assert abs(heard["peak_hz"] - TONE_HZ) < 3, heard
    assert heard["rms"] > 3000, heard
    print(f"chromium -> python latency: {(heard['onset'] - sent['tone_start']) * 1000:.0f} ms")


def test_python_tone_reaches_browser(netns_livekit: NetnsLiveKit, page_url: str) -> None:
    lk = netns_livekit
    room = "python-to-browser"
    browser = lk.popen_python(
        CLIENTS / "browser_peer.py",
        "--page",
        page_url,
        "--mode",
        "listen",
        "--room",
        room,
        "--identity",
        "chrome",
        "--peer",
        "py",
    )
    speaker = lk.popen_python(
        CLIENTS / "tone_publisher.py", "--room", room, "--identity", "py", "--frequency", str(TONE_HZ)
    )
    heard = lk.wait(browser, 120).check().json
    sent = lk.wait(speaker, 120).check().json
    assert heard["ok"], heard
    assert heard["track_sid"] == sent["track_sid"]
    assert abs(heard["peak_hz"] - TONE_HZ) < 3, heard
    assert heard["rms"] > 3000, heard
    print(f"python -> chromium latency: {(heard['onset'] - sent['tone_start']) * 1000:.0f} ms")
