"""A webhook receiver for tests that run the server in a network namespace: serves POST /hooks on
127.0.0.1:PORT, checks every request with livekit-api's WebhookReceiver (key/secret from the environment)
and appends each accepted event as a JSON line to OUT. Runs until killed.

Usage: webhook_sink.py PORT OUT
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from aiohttp import web
from google.protobuf.json_format import MessageToDict
from livekit import api


def main() -> None:
    port, out = int(sys.argv[1]), Path(sys.argv[2])
    receiver = api.WebhookReceiver(
        api.TokenVerifier(os.environ["LIVEKIT_API_KEY"], os.environ["LIVEKIT_API_SECRET"])
    )

    async def hooks(request: web.Request) -> web.Response:
        body = await request.text()
        try:
            event = receiver.receive(body, request.headers.get("Authorization", ""))
        except Exception as exc:  # a bad signature is what this sink exists to catch
            print(f"rejected webhook: {exc}", file=sys.stderr, flush=True)
            return web.Response(status=401, text=str(exc))
        record = MessageToDict(event)
        record["_content_type"] = request.content_type
        with out.open("a") as sink:
            sink.write(json.dumps(record) + "\n")
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hooks", hooks)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
