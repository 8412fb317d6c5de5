"""Drive headless Debian Chromium (Playwright, no downloaded browser) through tests/browser/peer.html.

--mode publish: the page publishes a WebAudio tone once --peer says "ready" (data topic "ready").
--mode listen:  the page subscribes to --peer's audio, says "ready", and records 1 s after the tone starts.
Prints {"ok", "track_sid", "tone_start"} or {"ok", "track_sid", "onset", "peak_hz", "rms"}.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from typing import Any
from urllib.parse import urlencode

import numpy as np
from _common import emit, token
from playwright.async_api import async_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


def _analyse(result: dict[str, Any]) -> dict[str, Any]:
    samples = np.asarray(result.pop("samples"), dtype=np.float64) * 32767
    rate = result["sample_rate"]
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    freqs = np.fft.rfftfreq(samples.size, 1 / rate)
    result["peak_hz"] = float(freqs[int(np.argmax(spectrum))])
    result["rms"] = float(np.sqrt(np.mean(samples**2)))
    return result


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--page", required=True, help="http URL of tests/browser/peer.html")
    parser.add_argument("--mode", choices=["publish", "listen"], required=True)
    parser.add_argument("--room", required=True)
    parser.add_argument("--identity", default="browser")
    parser.add_argument("--peer", required=True)
    parser.add_argument("--frequency", type=float, default=440.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()

    query = urlencode(
        {
            "url": os.environ["LIVEKIT_URL"],
            "token": token(args.identity, args.room),
            "mode": args.mode,
            "peer": args.peer,
            "freq": args.frequency,
            "debug": os.environ.get("LK_BROWSER_DEBUG", ""),
        }
    )
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
            )
            page = context.pages[0] if context.pages else await context.new_page()
            page.on("console", lambda msg: print(f"[console] {msg.text}", file=sys.stderr, flush=True))
            page.on("pageerror", lambda err: print(f"[pageerror] {err}", file=sys.stderr, flush=True))
            await page.goto(f"{args.page}?{query}")
            await page.wait_for_function("window.lkDone === true", timeout=args.timeout * 1000)
            result: dict[str, Any] = await page.evaluate("window.lkResult")
            await context.close()
    if result.get("ok") and args.mode == "listen":
        result = _analyse(result)
    emit({"identity": args.identity, **result})


if __name__ == "__main__":
    asyncio.run(main())
