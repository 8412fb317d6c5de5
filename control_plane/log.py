"""structlog setup: JSON without a TTY, console with one; every request line has a request id."""

from __future__ import annotations

import logging
import sys
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
    """structlog for our own lines; the standard library's (uvicorn, SQLAlchemy, SAQ, Litestar) rendered by
    the same processors through structlog's ProcessorFormatter, so that a JSON log is JSON throughout."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if settings.render_json else structlog.dev.ConsoleRenderer()
    )
    level = logging.getLevelNamesMapping().get(settings.level.upper(), logging.INFO)
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    logging.basicConfig(level=level, handlers=[handler])
    # Python's warnings (DeprecationWarning from a library, say) are otherwise printed to stderr as text.
    logging.captureWarnings(True)
    # uvicorn's own lines go to the handler above, whatever logging config uvicorn was started with; its
    # access lines are dropped, ours (`log_response`) carry the request id.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def _request_context(scope: Scope) -> dict[str, Any]:
    """The request's id (X-Request-ID, or a new one) and start time, bound to every log line of the
    request; made once, by whichever of the middleware and the before-send hook sees the request first."""
    state: dict[str, Any] = scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = _incoming_request_id(scope) or uuid.uuid4().hex
        state["started"] = time.perf_counter()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=state["request_id"])
    return state


class RequestContextMiddleware:
    """Binds the request context before any other middleware of a route (authentication included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            _request_context(scope)
        await self.app(scope, receive, send)


_access_log = structlog.get_logger("control_plane.access")


async def log_response(message: Message, scope: Scope) -> None:
    """A before-send hook: it sees every response, also those made before any route's middleware runs
    (404 and 405 from routing, CORS preflights) and by the app's outermost error handler, so each one
    carries the request id and gets exactly one access line. Headers are never logged."""
    if message["type"] != "http.response.start" or scope["type"] != ScopeType.HTTP:
        return
    state = _request_context(scope)
    headers = list(message.get("headers", []))
    headers.append((b"x-request-id", str(state["request_id"]).encode()))
    message["headers"] = headers
    _access_log.info(
        "request",
        method=scope.get("method"),
        path=scope.get("path"),
        status=message["status"],
        duration_ms=round((time.perf_counter() - state["started"]) * 1000, 1),
    )


def install_request_log(app_config: AppConfig) -> AppConfig:
    """Bind the request context outside every other middleware, log each response, and leave the
    standard library's logging to `configure` (Litestar's default config would replace it)."""
    app_config.middleware.insert(0, RequestContextMiddleware)
    app_config.before_send.append(log_response)
    app_config.logging_config = None
    return app_config


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")[:64]
            if text.replace("-", "").isalnum():
                return text
    return None
