"""Refuses request bodies the API could decode but never handle or store, before any handler sees them.

The API takes JSON bodies only, and Litestar decodes a handler's `data` as JSON whatever the
Content-Type says, so every non-empty body must be declared JSON (`application/json`, or a `+json`
type such as LiveKit's `application/webhook+json`; anything else is 415) and then passes the same
checks. msgspec raises UnicodeDecodeError for invalid UTF-8 inside a string and RecursionError for deep
nesting, which would surface as 500s; Postgres cannot store NUL in text, which would surface as a
misleading 409, a 500, or (for a write left to the commit) a 200 for a change that was never saved.
"""

from __future__ import annotations

import re
from typing import Any, Final

from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import ClientException
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE
from litestar.types import ASGIApp, Receive, Scope, Send

# Far deeper than any of our schemas, far shallower than the decoder's recursion limit.
MAX_JSON_DEPTH: Final = 32

# A \u0000 escape that is not itself escaped (preceded by an even number of backslashes).
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def json_body_problem(body: bytes) -> str | None:
    """Why this JSON body cannot be accepted, or None when nothing stands in the way of decoding it."""
    if b"\x00" in body or _NUL_ESCAPE.search(body):
        return "Text in the request cannot contain NUL characters"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "The request body is not valid UTF-8"
    depth = deepest = 0
    for bracket in _STRING.sub(b'""', body).translate(None, _NOT_BRACKETS):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    if deepest > MAX_JSON_DEPTH:
        return f"The request body is nested deeper than {MAX_JSON_DEPTH} levels"
    return None


def is_json_media_type(content_type: bytes | None) -> bool:
    """`application/json` or `application/<anything>+json`, parameters (charset) aside."""
    if content_type is None:
        return False
    media_type = content_type.split(b";")[0].strip().lower()
    return media_type == b"application/json" or (
        media_type.startswith(b"application/") and media_type.endswith(b"+json")
    )


def _content_type(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return bytes(value)
    return None


class JSONBodyGuard:
    """Reads a request's body once (Litestar keeps it for the handler, within the size limit): a body
    must be JSON, and one that is passes `json_body_problem`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["method"] in _BODY_METHODS:
            body = await Request[Any, Any, Any](scope, receive).body()
            if body:
                if not is_json_media_type(_content_type(scope)):
                    raise ClientException(
                        status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                        detail="The request body must be JSON (Content-Type: application/json)",
                    )
                if problem := json_body_problem(body):
                    raise ClientException(detail=problem)
        await self.app(scope, receive, send)
