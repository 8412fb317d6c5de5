"""Small guards for route handlers."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from control_plane.db import models as m


def _role(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The signed-in user's role; 401 when no user was authenticated (a path or method that the
    authentication middleware skips), never a 500 for a user missing from the scope."""
    user = connection.scope.get("user")
    if not isinstance(user, m.User):
        raise NotAuthorizedException(detail="Authentication required")
    return user.role


def requires_staff(connection: ASGIConnection[Any, m.User, Any, Any], _: BaseRouteHandler) -> None:
    """Recruiters and admins."""
    if _role(connection) not in {m.UserRole.RECRUITER, m.UserRole.ADMIN}:
        raise PermissionDeniedException(detail="Recruiter or admin role required")


def requires_admin(connection: ASGIConnection[Any, m.User, Any, Any], _: BaseRouteHandler) -> None:
    if _role(connection) != m.UserRole.ADMIN:
        raise PermissionDeniedException(detail="Admin role required")
