"""JWT bearer authentication: 15-minute access tokens, the user loaded from Postgres on each request."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Any
from uuid import UUID

import structlog
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.authentication import AuthenticationResult
from litestar.security.jwt import JWTAuth, JWTAuthenticationMiddleware, Token

from control_plane.db import models as m
from control_plane.lib.db import get_alchemy_config
from control_plane.settings import get_settings

# Routes that authenticate by other means (service token, webhook signature) or not at all.
PUBLIC_PATHS = [
    "^/auth/login$",
    "^/auth/register$",
    "^/auth/confirm-email$",
    "^/auth/refresh$",
    "^/auth/logout$",
    "^/healthz$",
    "^/readyz$",
    "^/docs",
    "^/schema",
    "^/livekit/webhook$",
    "^/internal/",
]


def bearer_token(authorization: str | None) -> str | None:
    """The credentials of an `Authorization: Bearer <token>` header (the scheme is case-insensitive,
    RFC 9110 11.1); None for any other scheme, a bare token or an empty one."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class BearerJWTAuthenticationMiddleware(JWTAuthenticationMiddleware):
    """Litestar's JWT middleware takes whatever follows the first space (`Basic <jwt>` works); this one
    takes the Bearer scheme only."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token = bearer_token(connection.headers.get(self.auth_header))
        if token is None:
            raise NotAuthorizedException("No bearer token in the Authorization header")
        return await self.authenticate_token(encoded_token=token, connection=connection)


async def retrieve_user(token: Token, _: ASGIConnection[Any, Any, Any, Any]) -> m.User | None:
    try:
        user_id = UUID(token.sub)
    except ValueError:
        return None
    async with get_alchemy_config().get_session() as db:
        user = await db.get(m.User, user_id)
    if user is None or not user.is_active:
        return None
    structlog.contextvars.bind_contextvars(user_id=str(user.id))
    return user


@lru_cache(maxsize=1)
def get_jwt_auth() -> JWTAuth[m.User, Token]:
    auth = get_settings().auth
    return JWTAuth[m.User, Token](
        retrieve_user_handler=retrieve_user,
        token_secret=auth.jwt_secret,
        algorithm=auth.jwt_algorithm,
        default_token_expiration=timedelta(seconds=auth.access_token_ttl_s),
        exclude=PUBLIC_PATHS,
        # Litestar skips OPTIONS and HEAD by default, which left guards without a user (a 500).
        exclude_http_methods=[],
        authentication_middleware_class=BearerJWTAuthenticationMiddleware,
        openapi_security_scheme_name="BearerToken",
    )


def issue_access_token(user: m.User) -> str:
    return get_jwt_auth().create_token(identifier=str(user.id), token_extras={"role": user.role})
