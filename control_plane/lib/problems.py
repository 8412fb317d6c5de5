"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from advanced_alchemy.exceptions import DuplicateKeyError, IntegrityError, NotFoundError
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsException
from litestar.status_codes import HTTP_404_NOT_FOUND, HTTP_409_CONFLICT, HTTP_500_INTERNAL_SERVER_ERROR

log = structlog.get_logger()

PROBLEM_JSON = "application/problem+json"
# No problem types of our own: the status and its phrase say what kind of problem it is (RFC 9457 4.2.1).
ABOUT_BLANK = "about:blank"


class ConflictError(HTTPException):
    """The request is valid but conflicts with the resource's current state (409)."""

    status_code = HTTP_409_CONFLICT


class TooManyRequestsError(HTTPException):
    status_code = 429


class ServiceUnavailableError(HTTPException):
    """A service this request needs (LiveKit, say) cannot be reached now (503)."""

    status_code = 503


def _from_http_exception(exc: HTTPException) -> ProblemDetailsException:
    """Title is the status's standard phrase; detail is what went wrong (validation errors in extra)."""
    title = HTTPStatus(exc.status_code).phrase
    return ProblemDetailsException(
        status_code=exc.status_code,
        type_=ABOUT_BLANK,
        title=title,
        detail=exc.detail if exc.detail and exc.detail != title else title,
        extra=exc.extra,
        headers=exc.headers,
    )


def _not_found(exc: NotFoundError) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=HTTP_404_NOT_FOUND, type_=ABOUT_BLANK, title="Not Found", detail="Not found"
    )


def _conflict(exc: IntegrityError) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=HTTP_409_CONFLICT,
        type_=ABOUT_BLANK,
        title="Conflict",
        detail="Conflicts with existing data",
    )


def unhandled_exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Anything unexpected: log it with its traceback, answer a problem document without internals."""
    log.exception("unhandled_error", path=request.url.path)
    return Response(
        {
            "type": ABOUT_BLANK,
            "title": "Internal Server Error",
            "status": 500,
            "detail": "Internal server error",
        },
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
        media_type=PROBLEM_JSON,
    )


def get_config() -> ProblemDetailsConfig:
    return ProblemDetailsConfig(
        exception_to_problem_detail_map={
            HTTPException: _from_http_exception,
            NotFoundError: _not_found,
            DuplicateKeyError: _conflict,
            IntegrityError: _conflict,
        },
    )
