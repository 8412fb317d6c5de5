"""Small guards for route handlers."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from control_plane.db import models as m


def requires_staff(connection: ASGIConnection[Any, m.User, Any, Any], _: BaseRouteHandler) -> None:
    """Recruiters and admins."""
    if connection.user.role not in {m.UserRole.RECRUITER, m.UserRole.ADMIN}:
        raise PermissionDeniedException(detail="Recruiter or admin role required")


def requires_admin(connection: ASGIConnection[Any, m.User, Any, Any], _: BaseRouteHandler) -> None:
    if connection.user.role != m.UserRole.ADMIN:
        raise PermissionDeniedException(detail="Admin role required")
