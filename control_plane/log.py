"""structlog setup: JSON without a TTY, console with one; every request line has a request id."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

import structlog
from litestar.config.app import AppConfig
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from control_plane.settings import LogSettings

_REDACTED_KEYS = frozenset(
    {"authorization", "password", "token", "refresh_token", "access_token", "participant_token"}
)


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key.lower() in _REDACTED_KEYS:
            event[key] = "[redacted]"
    return event


def configure(settings: LogSettings) -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if settings.render_json else structlog.dev.ConsoleRenderer()
    )
    level = logging.getLevelNamesMapping().get(settings.level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level, format="%(message)s")


class RequestContextMiddleware:
    """Binds a request id (X-Request-ID, or a new one) to every log line of the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            request_id = _incoming_request_id(scope) or uuid.uuid4().hex
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(request_id=request_id)
            state = scope.setdefault("state", {})
            state["request_id"] = request_id
            state["started"] = time.perf_counter()
        await self.app(scope, receive, send)


_access_log = structlog.get_logger("control_plane.access")


async def log_response(message: Message, scope: Scope) -> None:
    """A before-send hook, so that responses made by the app's outermost error handler (for example
    a 401 from authentication) also carry the request id and get their access line. Headers are
    never logged."""
    if message["type"] != "http.response.start":
        return
    state = scope.get("state", {})
    request_id = state.get("request_id")
    if request_id is None:
        return
    headers = list(message.get("headers", []))
    headers.append((b"x-request-id", str(request_id).encode()))
    message["headers"] = headers
    _access_log.info(
        "request",
        method=scope.get("method"),
        path=scope.get("path"),
        status=message["status"],
        duration_ms=round((time.perf_counter() - state["started"]) * 1000, 1),
    )


def install_request_log(app_config: AppConfig) -> AppConfig:
    """Bind the request context outside every other middleware (authentication included)."""
    app_config.middleware.insert(0, RequestContextMiddleware)
    app_config.before_send.append(log_response)
    return app_config


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")[:64]
            if text.replace("-", "").isalnum():
                return text
    return None
