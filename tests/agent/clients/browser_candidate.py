"""Drive headless Debian Chromium (Playwright, no downloaded browser) through tests/browser/candidate.html:
a livekit-client candidate that joins with the control plane's token, speaks --answer-wav once the
greeting is over, and records the agent's `lk.agent.state` changes and every `lk.transcription` stream.
Prints the page's result as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from playwright.async_api import async_playwright

# The Chromium flags the SFU browser tests use (WebRTC inside the namespace, no mDNS, no prompts).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "sfu" / "clients"))
from browser_peer import CHROMIUM, CHROMIUM_FLAGS


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--page", required=True, help="http URL of tests/browser/candidate.html")
    parser.add_argument("--url", required=True, help="LiveKit URL")
    parser.add_argument("--token", required=True)
    parser.add_argument("--answer-wav", required=True, type=Path)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()

    answer = base64.b64encode(args.answer_wav.read_bytes()).decode()
    query = urlencode({"url": args.url, "token": args.token})
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
            )
            await context.add_init_script(f"window.answerWav = {json.dumps(answer)};")
            page = context.pages[0] if context.pages else await context.new_page()
            page.on("console", lambda msg: print(f"[console] {msg.text}", file=sys.stderr, flush=True))
            page.on("pageerror", lambda err: print(f"[pageerror] {err}", file=sys.stderr, flush=True))
            await page.goto(f"{args.page}?{query}")
            await page.wait_for_function("window.lkDone === true", timeout=args.timeout * 1000)
            result: dict[str, Any] = await page.evaluate("window.lkResult")
            await context.close()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
