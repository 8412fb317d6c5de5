"""Serves the web app (web/dist, built by `make web`) at `/`, beside the JSON API.

The API keeps precedence: its routes are exact, and the catch-all here answers the API's 404 problem
document for any path under an API prefix (`/auth/nope`, `/rooms/...` before it exists). Hashed bundles
under `/assets/` are cached for a year; every other path without a file extension is a client route
(`/confirm-email?token=…`, `/interviews/<id>`) and gets index.html, never cached. Without a build, `/` says
how to make one instead of failing.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path, PurePosixPath
from typing import Final

from litestar import MediaType, Request, Response, route
from litestar.datastructures import CacheControlHeader
from litestar.enums import HttpMethod
from litestar.exceptions import NotFoundException
from litestar.response import File
from litestar.static_files import create_static_files_router
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from litestar.types import ControllerRouterHandler

WEB_DIST: Final = Path(__file__).resolve().parents[2] / "web" / "dist"
# First path segments that belong to the API (and its docs and queue UI), never to the web app.
API_PREFIXES: Final = frozenset(
    {"auth", "sessions", "livekit", "internal", "healthz", "readyz", "docs", "saq", "rooms", "schema"}
)
NOT_BUILT: Final = (
    "The CodeVoice web app is not built. "
    "Run `make web` (or `make dev`), which builds web/dist, then reload.\n"
)
_NO_CACHE_HEADERS: Final = {CacheControlHeader.HEADER_NAME: CacheControlHeader(no_cache=True).to_header()}
_IMMUTABLE: Final = CacheControlHeader(public=True, max_age=31_536_000, immutable=True)
# The web app's files are public; the API's own routes carry its authentication.
_PUBLIC: Final = {"exclude_from_auth": True}
# Unknown API paths answer 404 whatever the method, as they would without this catch-all.
_METHODS: Final = [HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.DELETE]


def web_app_handlers(dist: Path | None = None) -> list[ControllerRouterHandler]:
    """The route handlers serving `dist` (default: web/dist): register them after the API's own."""
    dist = dist or WEB_DIST

    @route(
        ["/", "/{path:path}"],
        http_method=_METHODS,
        include_in_schema=False,
        status_code=HTTP_200_OK,
        sync_to_thread=False,
        opt=_PUBLIC,
    )
    def web_app(request: Request, path: PurePosixPath | None = None) -> Response[str] | File:
        parts = path.parts[1:] if path is not None else ()
        if (parts and parts[0] in API_PREFIXES) or request.method != HttpMethod.GET:
            raise NotFoundException()
        index = dist / "index.html"
        if not index.is_file():
            return Response(NOT_BUILT, media_type=MediaType.TEXT, status_code=HTTP_503_SERVICE_UNAVAILABLE)
        if len(parts) == 1 and parts[0] != "index.html" and (dist / parts[0]).is_file():
            # favicon, robots.txt: files at the top of the build, each served by its own name
            media_type = mimetypes.guess_type(parts[0])[0] or "application/octet-stream"
            return File(dist / parts[0], content_disposition_type="inline", media_type=media_type)
        if parts and "." in parts[-1] and parts != ("index.html",):
            raise NotFoundException()  # a missing file, not a client route
        return File(
            index, content_disposition_type="inline", media_type=MediaType.HTML, headers=_NO_CACHE_HEADERS
        )

    handlers: list[ControllerRouterHandler] = [web_app]
    if (dist / "assets").is_dir():
        handlers.append(
            create_static_files_router(
                path="/assets", directories=[dist / "assets"], cache_control=_IMMUTABLE, opt=_PUBLIC
            )
        )
    return handlers
