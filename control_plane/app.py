"""The control plane's Litestar application."""

from __future__ import annotations

from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.problem_details import ProblemDetailsPlugin
from litestar_saq import SAQPlugin

from control_plane import log
from control_plane.domain.accounts.auth import get_jwt_auth
from control_plane.domain.accounts.controllers import AccountController
from control_plane.domain.internal.controllers import InternalAgentController
from control_plane.domain.interviews.controllers import InterviewSessionController
from control_plane.domain.rooms.controllers import RoomTokenController
from control_plane.domain.summaries.controllers import SummaryController
from control_plane.domain.system.controllers import HealthController
from control_plane.domain.webhooks.controllers import LiveKitWebhookController
from control_plane.lib import passwords, problems
from control_plane.lib.body_guard import JSONBodyGuard
from control_plane.lib.db import get_alchemy_config
from control_plane.lib.redis import close_redis, open_redis, provide_redis
from control_plane.settings import get_settings


def _openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="CodeVoice control plane",
        version="0.1.0",
        path="/docs",
        render_plugins=[ScalarRenderPlugin()],
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
            }
        ),
    )


def create_app(**overrides: Any) -> Litestar:
    settings = get_settings()
    log.configure(settings.log)
    jwt_auth = get_jwt_auth()
    return Litestar(
        route_handlers=[
            AccountController,
            InterviewSessionController,
            RoomTokenController,
            SummaryController,
            InternalAgentController,
            LiveKitWebhookController,
            HealthController,
        ],
        plugins=[
            SQLAlchemyPlugin(config=get_alchemy_config()),
            ProblemDetailsPlugin(problems.get_config()),
            SAQPlugin(config=settings.worker.get_config()),
        ],
        on_app_init=[jwt_auth.on_app_init, log.install_request_log],
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
