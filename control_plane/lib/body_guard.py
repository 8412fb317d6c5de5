"""Refuses JSON bodies the API could decode but never handle or store, before any handler sees them.

msgspec raises UnicodeDecodeError for invalid UTF-8 inside a string and RecursionError for deep
nesting, which would surface as 500s; Postgres cannot store NUL in text, which would surface as a
misleading 409, a 500, or (for a write left to the commit) a 200 for a change that was never saved.
"""

from __future__ import annotations

import re
from typing import Any, Final

from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import ClientException
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


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return value.split(b";")[0].strip().lower() == b"application/json"
    return False


class JSONBodyGuard:
    """Reads a JSON request's body once (Litestar keeps it for the handler, within the size limit)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["method"] in _BODY_METHODS and _is_json(scope):
            body = await Request[Any, Any, Any](scope, receive).body()
            if problem := json_body_problem(body):
                raise ClientException(detail=problem)
        await self.app(scope, receive, send)
