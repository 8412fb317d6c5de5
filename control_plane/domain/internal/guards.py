from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

from control_plane.domain.accounts.auth import bearer_token
from control_plane.settings import get_settings


def requires_service_token(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The agent authenticates with a shared service token, never with a user's JWT."""
    presented = bearer_token(connection.headers.get("Authorization"))
    expected = get_settings().auth.agent_service_token
    if presented is None or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise NotAuthorizedException(detail="Invalid service token")
