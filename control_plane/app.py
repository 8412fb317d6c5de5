"""The control plane's Litestar application."""

from __future__ import annotations

from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.plugins.problem_details import ProblemDetailsPlugin

from control_plane import log
from control_plane.domain.accounts.auth import get_jwt_auth
from control_plane.domain.accounts.controllers import AccountController
from control_plane.domain.internal.controllers import InternalAgentController
from control_plane.domain.interviews.controllers import InterviewSessionController
from control_plane.domain.rooms.controllers import LiveRoomController, RoomTokenController
from control_plane.domain.summaries.controllers import SummaryController
from control_plane.domain.system.controllers import HealthController
from control_plane.domain.webhooks.controllers import LiveKitWebhookController
from control_plane.lib import api_docs, openapi, passwords, problems, security_headers, web_app
from control_plane.lib.body_guard import JSONBodyGuard
from control_plane.lib.db import get_alchemy_config
from control_plane.lib.redis import close_redis, open_redis, provide_redis
from control_plane.lib.saq import CodeVoiceSAQPlugin
from control_plane.settings import get_settings


def _openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="CodeVoice control plane",
        version="0.1.0",
        path="/docs",
        description=(
            "Every error is an RFC 9457 problem document (application/problem+json). "
            "No text in a JSON body may contain NUL (Postgres cannot store it): "
            "such a body is refused with 400."
        ),
        render_plugins=[api_docs.scalar_plugin()],
        components=openapi.security_schemes(),
    )


def create_app(**overrides: Any) -> Litestar:
    settings = get_settings()
    settings.mail.check()  # the control plane is the only process that sends mail
    log.configure(settings.log)
    jwt_auth = get_jwt_auth()
    return Litestar(
        route_handlers=[
            AccountController,
            InterviewSessionController,
            RoomTokenController,
            LiveRoomController,
            SummaryController,
            InternalAgentController,
            LiveKitWebhookController,
            HealthController,
            *web_app.web_app_handlers(),  # the web app at /, after the API's routes
        ],
        plugins=[
            SQLAlchemyPlugin(config=get_alchemy_config()),
            ProblemDetailsPlugin(problems.get_config()),
            CodeVoiceSAQPlugin(config=settings.worker.get_config()),
            openapi.StrictStructSchemaPlugin(),
        ],
        on_app_init=[
            jwt_auth.on_app_init,
            openapi.security_per_operation,
            log.install_request_log,
            security_headers.install,
        ],
        dependencies={"redis": Provide(provide_redis, sync_to_thread=False)},
        exception_handlers={Exception: problems.unhandled_exception_handler},
        middleware=[JSONBodyGuard],
        request_max_body_size=settings.app.max_body_bytes,
        cors_config=settings.app.get_cors_config(),
        openapi_config=_openapi_config(),
        on_startup=[open_redis, passwords.warm_up],
        on_shutdown=[close_redis],
        debug=settings.app.debug,
        **overrides,
    )
