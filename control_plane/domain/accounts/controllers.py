from __future__ import annotations

from typing import Any

from advanced_alchemy.extensions.litestar.providers import create_service_provider
from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from redis.asyncio import Redis

from control_plane.db import models as m
from control_plane.domain.accounts import rate_limit
from control_plane.domain.accounts.auth import issue_access_token
from control_plane.domain.accounts.schemas import (
    Credentials,
    RefreshRequest,
    Registration,
    TokenPair,
    UserOut,
)
from control_plane.domain.accounts.services import RefreshTokenService, UserService
from control_plane.settings import get_settings


def user_out(user: m.User) -> UserOut:
    return UserOut(
        id=user.id, email=user.email, display_name=user.display_name, role=user.role, is_active=user.is_active
    )


def _client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


class AccountController(Controller):
    path = "/auth"
    tags = ["Accounts"]
    dependencies = {
        "users": Provide(create_service_provider(UserService)),
        "refresh_tokens": Provide(create_service_provider(RefreshTokenService)),
    }

    @post("/register", status_code=HTTP_201_CREATED, summary="Create a candidate account")
    async def register(
        self, request: Request[Any, Any, Any], data: Registration, users: UserService, redis: Redis
    ) -> UserOut:
        auth = get_settings().auth
        await rate_limit.enforce(
            redis,
            get_settings().redis.key("rl", "register", rate_limit.subject(_client_ip(request))),
            limit=auth.register_attempts_per_window,
            window_s=auth.rate_limit_window_s,
        )
        user = await users.register(email=data.email, password=data.password, display_name=data.display_name)
        return user_out(user)

    @post("/login", status_code=HTTP_200_OK, summary="Exchange email and password for tokens")
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: Credentials,
        users: UserService,
        refresh_tokens: RefreshTokenService,
        redis: Redis,
    ) -> TokenPair:
        settings = get_settings()
        await rate_limit.enforce(
            redis,
            settings.redis.key("rl", "login", rate_limit.subject(_client_ip(request), data.email)),
            limit=settings.auth.login_attempts_per_window,
            window_s=settings.auth.rate_limit_window_s,
        )
        user = await users.authenticate(data.email, data.password)
        refresh = await refresh_tokens.issue(user.id, settings.auth.refresh_token_ttl_s)
        return TokenPair(
            access_token=issue_access_token(user),
            refresh_token=refresh,
            expires_in=settings.auth.access_token_ttl_s,
        )

    @post("/refresh", status_code=HTTP_200_OK, summary="Rotate a refresh token")
    async def refresh(
        self, data: RefreshRequest, users: UserService, refresh_tokens: RefreshTokenService
    ) -> TokenPair:
        settings = get_settings()
        user_id, successor = await refresh_tokens.rotate(
            data.refresh_token, settings.auth.refresh_token_ttl_s
        )
        user = await users.get(user_id)
        if not user.is_active:
            raise NotAuthorizedException(detail="Account is inactive")
        return TokenPair(
            access_token=issue_access_token(user),
            refresh_token=successor,
            expires_in=settings.auth.access_token_ttl_s,
        )

    @post("/logout", status_code=HTTP_204_NO_CONTENT, summary="Revoke a refresh token and its family")
    async def logout(self, data: RefreshRequest, refresh_tokens: RefreshTokenService) -> None:
        await refresh_tokens.revoke(data.refresh_token)

    @get("/me", summary="The signed-in user")
    async def me(self, request: Request[m.User, Any, Any]) -> UserOut:
        return user_out(request.user)
