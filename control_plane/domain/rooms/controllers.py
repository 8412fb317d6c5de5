from __future__ import annotations

from typing import Any

import structlog
from litestar import Controller, Request, post
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from control_plane.db import models as m
from control_plane.domain.interviews.access import get_own_session
from control_plane.domain.rooms.schemas import TokenRequest, TokenResponse
from control_plane.domain.rooms.tokens import room_token
from control_plane.lib.problems import ConflictError
from control_plane.settings import get_settings


class RoomTokenController(Controller):
    path = "/livekit"
    tags = ["LiveKit"]

    @post(
        "/token",
        status_code=HTTP_201_CREATED,
        summary="A room token for your own session (LiveKit token endpoint)",
    )
    async def create_token(
        self, request: Request[m.User, Any, Any], data: TokenRequest, db_session: AsyncSession
    ) -> TokenResponse:
        structlog.contextvars.bind_contextvars(session_id=str(data.session_id))
        session = await get_own_session(db_session, request.user, data.session_id)
        if m.SessionStatus(session.status).is_final:
            raise ConflictError(detail=f"Session is {session.status}; it cannot be joined")
        settings = get_settings().livekit
        return TokenResponse(
            server_url=settings.client_url, participant_token=room_token(settings, session, request.user)
        )
