"""Headless Debian Chromium for the web app's end-to-end tests, driven by Playwright from the test process.

Chromium runs inside the stack's network namespace (WebRTC does not connect over loopback here): Playwright
starts it through a two-line wrapper that does `ip netns exec NS chromium "$@"`, and talks to it over the
pipe it inherits, which works across namespaces. The microphone is Chromium's fake capture device playing a
WAV file (`FakeMicrophone`); Chromium reads that file again each time a microphone is opened, so a test
"speaks" by writing the file and then opening the microphone again (choosing another microphone in the page).

Also here: `audit` (axe-core in the page, and screenshots at desktop and phone width, kept under
test-artifacts/), the `MONITOR` script that records what the page shows over time, and `NetworkDrop`, which
cuts only Chromium off the SFU for a while.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, Playwright, ViewportSize

from tests.agent.audio import espeak_pcm, silence
from tests.support.netns import REPO, NetnsLiveKit

CHROMIUM = "/usr/bin/chromium"
AXE = REPO / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO / "test-artifacts" / "browser"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-device-for-media-stream",
]

# Records, from the first script on every page: the agent state shown (`data-state` of the state element),
# whether the reconnect banner shows, and the level of every <audio> element's stream (what the page plays:
# LiveKit's RoomAudioRenderer attaches the interviewer's track to one), measured with a WebAudio analyser.
MONITOR = """
(() => {
  const rec = { states: [], banner: [], audio: { peak: 0, loudMs: 0, firstLoudAt: null } };
  window.__cv = rec;
  const now = () => Math.round(performance.now());
  const observe = () => {
    const el = document.querySelector('[data-testid="agent-state"], #agent-state');
    const state = el ? el.dataset.state : null;
    const last = rec.states[rec.states.length - 1];
    if (state && (!last || last.state !== state)) rec.states.push({ state, at: now() });
    const shown = document.querySelector('[data-testid="reconnecting"]') !== null;
    const lastBanner = rec.banner[rec.banner.length - 1];
    if (lastBanner ? lastBanner.shown !== shown : shown) rec.banner.push({ shown, at: now() });
  };
  new MutationObserver(observe).observe(document, { subtree: true, childList: true, attributes: true });
  const streams = new WeakSet();
  let context = null;
  setInterval(() => {
    for (const el of document.querySelectorAll('audio')) {
      const stream = el.srcObject;
      if (!(stream instanceof MediaStream) || streams.has(stream)) continue;
      if (stream.getAudioTracks().length === 0) continue;
      streams.add(stream);
      context = context || new AudioContext();
      void context.resume();
      const analyser = context.createAnalyser();
      analyser.fftSize = 2048;
      context.createMediaStreamSource(stream).connect(analyser);
      const samples = new Float32Array(analyser.fftSize);
      setInterval(() => {
        analyser.getFloatTimeDomainData(samples);
        let sum = 0;
        for (const v of samples) sum += v * v;
        const rms = Math.sqrt(sum / samples.length);
        rec.audio.peak = Math.max(rec.audio.peak, rms);
        if (rms > 0.01) {
          rec.audio.loudMs += 50;
          rec.audio.firstLoudAt = rec.audio.firstLoudAt ?? now();
        }
      }, 50);
    }
  }, 100);
})();
"""


class FakeMicrophone:
    """The WAV file that Chromium's fake microphone plays (once: `%noloop`); silence until `say`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._write(silence(1.0))

    def _write(self, pcm: bytes) -> None:
        # Written beside and renamed, so a microphone opened meanwhile reads one whole file.
        partial = self.path.with_suffix(".partial")
        with wave.open(str(partial), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(16000)
            wav.writeframes(pcm)
        partial.replace(self.path)

    def say(self, text: str) -> None:
        """The next microphone opened plays `text` (espeak-ng), then silence."""
        self._write(silence(0.5) + espeak_pcm(text, self.path.parent, speed=130) + silence(1.0))

    def silence(self) -> None:
        self._write(silence(1.0))

    @property
    def flag(self) -> str:
        return f"--use-file-for-fake-audio-capture={self.path}%noloop"


def launch(playwright: Playwright, lk: NetnsLiveKit, workdir: Path, microphone: FakeMicrophone) -> Browser:
    """Chromium inside `lk`'s namespace. Pages may use the microphone only in contexts granted it."""
    wrapper = workdir / "chromium-in-netns"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {lk.ns} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return playwright.chromium.launch(
        executable_path=str(wrapper),
        headless=True,
        args=[*FLAGS, microphone.flag, "--deny-permission-prompts"],
    )


def new_page(browser: Browser, *, microphone: bool = True) -> Page:
    """A page in a fresh context (its own storage) with the MONITOR script; the microphone unless told."""
    context = browser.new_context(viewport=DESKTOP, permissions=["microphone"] if microphone else [])
    context.set_default_timeout(30_000)
    context.add_init_script(MONITOR)
    page = context.new_page()
    page.on("pageerror", lambda error: print(f"[pageerror] {error}"))
    return page


def record(page: Page) -> dict[str, Any]:
    recorded: dict[str, Any] = page.evaluate("window.__cv")
    return recorded


def states(page: Page) -> list[str]:
    return [entry["state"] for entry in record(page)["states"]]


def in_order(seen: list[str], *sequence: str) -> bool:
    """`sequence` occurs in `seen` in this order, other items allowed between."""
    remaining = iter(seen)
    return all(wanted in remaining for wanted in sequence)


@dataclass
class Auditor:
    """axe-core and screenshots for every page a test visits; the screenshots go to test-artifacts/."""

    name: str
    directory: Path = field(init=False)
    count: int = 0

    def __post_init__(self) -> None:
        self.directory = ARTIFACTS / self.name
        self.directory.mkdir(parents=True, exist_ok=True)
        for old in self.directory.glob("*.png"):
            old.unlink()
        print(f"screenshots: {self.directory}")

    def __call__(self, page: Page, what: str) -> None:
        self.count += 1
        stem = f"{self.count:02d}-{what}"
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            page.screenshot(path=str(self.directory / f"{stem}-{label}.png"), full_page=True)
        page.set_viewport_size(DESKTOP)
        if not page.evaluate("typeof window.axe === 'object'"):
            page.add_script_tag(path=str(AXE))
        violations: list[dict[str, Any]] = page.evaluate(
            """async () => (await axe.run(document, { resultTypes: ['violations'] })).violations.map((v) => ({
                 id: v.id, impact: v.impact, help: v.help,
                 nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }))"""
        )
        serious = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert not serious, f"axe on {what} ({page.url}):\n{json.dumps(serious, indent=2)}"


# -- cutting Chromium off the SFU ---------------------------------------------------------------------------

_SS_LINE = re.compile(r"(\S+):(\d+)\s+(\S+):(\d+|\*)\s+users:\(\(\"([^\"]+)\",pid=(\d+)")


def _sockets(lk: NetnsLiveKit, proto: str) -> list[tuple[int, int, str]]:
    """(local port, peer port or 0, process name) of every `proto` socket in the namespace."""
    argv = ["ss", "-H", "-n", "-p", "-a", "-u" if proto == "udp" else "-t"]
    out = subprocess.run(lk.exec_argv(argv), capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        match = _SS_LINE.search(line)
        if match:
            peer = int(match.group(4)) if match.group(4) != "*" else 0
            found.append((int(match.group(2)), peer, match.group(5)))
    return found


def _ip(lk: NetnsLiveKit, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(lk.exec_argv(["ip", *args]), capture_output=True, text=True, check=check)


def _ranges_without(excluded: set[int]) -> list[str]:
    """Port ranges covering 1-65534 except `excluded` (ip rule's sport ranges)."""
    ranges, start = [], 1
    for port in sorted(excluded):
        if port > start:
            ranges.append(f"{start}-{port - 1}")
        start = port + 1
    if start <= 65534:
        ranges.append(f"{start}-65534")
    return ranges


class NetworkDrop:
    """Chromium loses the SFU (signalling and media) until `restore()`; the agent in the same namespace
    keeps its connection. Routing rules (all traffic here is loopback) blackhole Chromium's UDP sockets and
    any new connection to the SFU's TCP ports that is not the agent's, and Chromium's open connections to
    those ports are aborted (`ss -K`), as a network that goes away would."""

    PREF = "100"

    def __init__(self, lk: NetnsLiveKit) -> None:
        self.lk = lk
        self.active = False

    def cut(self) -> None:
        tcp_ports = {self.lk.port, self.lk.port + 2}
        tcp, udp = _sockets(self.lk, "tcp"), _sockets(self.lk, "udp")
        chromium_udp = {local for local, _, name in udp if name.startswith("chrom")}
        chromium_tcp = {local for local, peer, name in tcp if name.startswith("chrom") and peer in tcp_ports}
        others_tcp = {
            local for local, peer, name in tcp if not name.startswith("chrom") and peer in tcp_ports
        }
        assert chromium_udp, f"Chromium has no UDP socket: {udp}"
        assert chromium_tcp, f"Chromium has no connection to the SFU: {tcp}"
        # Rules come before the local table (looked up first by default), which moves after them.
        if "lookup local" in _ip(self.lk, "rule", "show", "pref", "0").stdout:
            _ip(self.lk, "rule", "add", "pref", "32000", "lookup", "local")
            _ip(self.lk, "rule", "del", "pref", "0")
        self.active = True
        for port in chromium_udp:
            for direction in ("sport", "dport"):
                _ip(
                    self.lk,
                    "rule",
                    "add",
                    "pref",
                    self.PREF,
                    "ipproto",
                    "udp",
                    direction,
                    str(port),
                    "blackhole",
                )
        for port in tcp_ports:
            for sports in _ranges_without(others_tcp):
                _ip(self.lk, "rule", "add", "pref", self.PREF, "ipproto", "tcp", "dport", str(port),
                    "sport", sports, "blackhole")  # fmt: skip
        for local in chromium_tcp:
            subprocess.run(
                self.lk.exec_argv(["ss", "-K", "-t", "src", f"127.0.0.1:{local}"]),
                capture_output=True,
                check=True,
            )

    def restore(self) -> None:
        while self.active and _ip(self.lk, "rule", "del", "pref", self.PREF, check=False).returncode == 0:
            pass
        self.active = False


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
