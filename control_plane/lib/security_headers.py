"""Headers every response carries: `X-Content-Type-Options: nosniff`, and `Cache-Control: no-store`
unless the handler chose its own caching (tokens, sessions and transcripts must never sit in a cache)."""

from __future__ import annotations

from typing import Final

from litestar.config.app import AppConfig
from litestar.types import Message, Scope

_ALWAYS: Final = ((b"x-content-type-options", b"nosniff"),)
_DEFAULTS: Final = ((b"cache-control", b"no-store"),)


async def add_security_headers(message: Message, scope: Scope) -> None:
    """A before-send hook, so that it sees every response, errors and routing's 404 and 405 included."""
    if message["type"] != "http.response.start":
        return
    headers = [(name, value) for name, value in message.get("headers", []) if name.lower() != _ALWAYS[0][0]]
    present = {name.lower() for name, _ in headers}
    headers.extend(_ALWAYS)
    headers.extend((name, value) for name, value in _DEFAULTS if name not in present)
    message["headers"] = headers


def install(app_config: AppConfig) -> AppConfig:
    app_config.before_send.append(add_security_headers)
    return app_config
