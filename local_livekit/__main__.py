"""`python -m local_livekit --dev` / `local-livekit --config livekit.yaml`: development and tests only."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import structlog

from local_livekit.config import ConfigError, config_from_args
from local_livekit.server import start_server


async def _serve(argv: list[str] | None) -> None:
    config = config_from_args(argv)
    handle = await start_server(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await handle.close()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    # aioice logs every ICE check at INFO; keep the server log about rooms and participants.
    logging.getLogger("aioice").setLevel(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        asyncio.run(_serve(argv))
    except ConfigError as exc:
        print(f"local-livekit: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


if __name__ == "__main__":
    main()
