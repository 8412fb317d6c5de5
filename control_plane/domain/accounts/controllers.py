from __future__ import annotations

from typing import Any

from advanced_alchemy.extensions.litestar.providers import create_service_provider
from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException, ValidationException
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT
from redis.asyncio import Redis

from control_plane.db import models as m
from control_plane.domain.accounts import rate_limit
from control_plane.domain.accounts.auth import issue_access_token
from control_plane.domain.accounts.confirmation import (
    InvalidConfirmationTokenError,
    already_registered_mail,
    confirmation_mail,
    read_confirmation_token,
)
from control_plane.domain.accounts.schemas import (
    Credentials,
    EmailConfirmation,
    RefreshRequest,
    Registration,
    RegistrationAccepted,
    TokenPair,
    UserOut,
)
from control_plane.domain.accounts.services import RefreshTokenService, UserService
from control_plane.lib import mail, openapi
from control_plane.lib.openapi import problem_responses
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

    @post(
        "/register",
        operation_id="register",
        status_code=HTTP_202_ACCEPTED,
        summary="Sign up: an email confirms the new account",
        description=(
            "Always 202 with the same body, whether or not the address already has an account, so the "
            "answer tells nobody which addresses are registered. A new address gets a confirmation link "
            "(an unconfirmed account cannot sign in); an address with an account gets a note that someone "
            "tried to register it, and the account is left untouched."
        ),
        responses=problem_responses(400, 413, 415, 429),
    )
    async def register(
        self, request: Request[Any, Any, Any], data: Registration, users: UserService, redis: Redis
    ) -> Response[RegistrationAccepted]:
        settings = get_settings()
        await rate_limit.enforce(
            redis,
            settings.redis.key("rl", "register", rate_limit.subject(_client_ip(request))),
            limit=settings.auth.register_attempts_per_window,
            window_s=settings.auth.rate_limit_window_s,
        )
        async with rate_limit.password_check_slot(redis, settings, _client_ip(request)):
            signup = await users.sign_up(
                email=data.email, password=data.password, display_name=data.display_name
            )
        if signup.created or signup.user.email_confirmed_at is None:
            message = confirmation_mail(settings.auth, settings.mail, signup.user)
        else:
            message = already_registered_mail(settings.mail, signup.user)
        # Sent after the response, so the SMTP server's speed never shows in this endpoint's timing.
        return Response(
            RegistrationAccepted(),
            status_code=HTTP_202_ACCEPTED,
            background=BackgroundTask(mail.send, settings.mail, message),
        )

    @post(
        "/confirm-email",
        operation_id="confirmEmail",
        status_code=HTTP_200_OK,
        summary="Confirm a new account with the token from its sign-up email",
        responses=problem_responses(400, 413, 415),
    )
    async def confirm_email(self, data: EmailConfirmation, users: UserService) -> UserOut:
        try:
            user_id, email = read_confirmation_token(get_settings().auth, data.token)
            user = await users.confirm_email(user_id, email)
        except InvalidConfirmationTokenError:
            raise ValidationException(
                detail="This confirmation link is invalid or has expired; register again for a new one"
            ) from None
        return user_out(user)

    @post(
        "/login",
        operation_id="login",
        status_code=HTTP_200_OK,
        summary="Exchange email and password for tokens",
        description="403 when the password is right but the account's email address is not confirmed yet.",
        responses=problem_responses(400, 401, 403, 413, 415, 429),
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: Credentials,
        users: UserService,
        refresh_tokens: RefreshTokenService,
        redis: Redis,
    ) -> TokenPair:
        settings = get_settings()
        client, auth = _client_ip(request), settings.auth
        # Cheapest refusals first: this client's logins whatever the email (spraying), then this client's
        # tries at this email (guessing), then a share of the password checks every process may run at once.
        await rate_limit.enforce(
            redis,
            settings.redis.key("rl", "login-client", rate_limit.subject(client)),
            limit=auth.login_client_attempts_per_window,
            window_s=auth.rate_limit_window_s,
        )
        await rate_limit.enforce(
            redis,
            settings.redis.key("rl", "login", rate_limit.subject(client, data.email)),
            limit=auth.login_attempts_per_window,
            window_s=auth.rate_limit_window_s,
        )
        async with rate_limit.password_check_slot(redis, settings, client):
            user = await users.authenticate(data.email, data.password)
        refresh = await refresh_tokens.issue(user.id, settings.auth.refresh_token_ttl_s)
        return TokenPair(
            access_token=issue_access_token(user),
            refresh_token=refresh,
            expires_in=settings.auth.access_token_ttl_s,
        )

    @post(
        "/refresh",
        operation_id="refreshTokens",
        status_code=HTTP_200_OK,
        summary="Rotate a refresh token",
        responses=problem_responses(400, 401, 413, 415),
    )
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

    @post(
        "/logout",
        operation_id="logout",
        status_code=HTTP_204_NO_CONTENT,
        summary="Revoke a refresh token and its family",
        responses=problem_responses(400, 413, 415),
    )
    async def logout(self, data: RefreshRequest, refresh_tokens: RefreshTokenService) -> None:
        await refresh_tokens.revoke(data.refresh_token)

    @get(
        "/me",
        operation_id="getCurrentUser",
        summary="The signed-in user",
        security=openapi.USER,
        responses=problem_responses(401),
    )
    async def me(self, request: Request[m.User, Any, Any]) -> UserOut:
        return user_out(request.user)
