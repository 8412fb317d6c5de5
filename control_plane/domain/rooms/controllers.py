from __future__ import annotations

from typing import Any

import structlog
from litestar import Controller, Request, get, post
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from control_plane.db import models as m
from control_plane.domain.accounts.guards import requires_staff
from control_plane.domain.rooms.live import LiveKitUnavailableError, list_live_rooms
from control_plane.domain.rooms.schemas import LiveRooms, TokenRequest, TokenResponse
from control_plane.domain.rooms.token_request import check_room_config, requested_session
from control_plane.domain.rooms.tokens import room_token
from control_plane.lib import openapi
from control_plane.lib.openapi import problem_responses
from control_plane.lib.problems import ConflictError, ServiceUnavailableError
from control_plane.settings import get_settings


class RoomTokenController(Controller):
    path = "/livekit"
    tags = ["LiveKit"]

    @post(
        "/token",
        operation_id="createRoomToken",
        security=openapi.USER,
        responses=problem_responses(400, 401, 403, 404, 409, 413, 415),
        status_code=HTTP_201_CREATED,
        summary="A room token for your own session (LiveKit's standard token endpoint)",
        description=(
            "Accepts the body that livekit-client's `TokenSource.endpoint` sends. The session is named "
            "by `room_name` or `session_id`; identity, name, grants (microphone only), TTL and the "
            "interviewer's dispatch are decided by the server. The owner of a live session gets a fresh "
            "token to rejoin it (a reload, a dropped connection); 409 once the session is final."
        ),
    )
    async def create_token(
        self, request: Request[m.User, Any, Any], data: TokenRequest, db_session: AsyncSession
    ) -> TokenResponse:
        all_settings = get_settings()
        settings = all_settings.livekit
        session = await requested_session(db_session, request.user, data)
        structlog.contextvars.bind_contextvars(session_id=str(session.id))
        check_room_config(data.room_config, session.room_name, settings.agent_name)
        # A live session's owner gets a fresh token too: a candidate who dropped out rejoins the interview,
        # which waits for them (CODEVOICE_CANDIDATE_REJOIN_GRACE_S).
        if m.SessionStatus(session.status).is_final:
            raise ConflictError(detail=f"Session is {session.status}; it cannot be joined")
        token = room_token(
            settings, session, request.user, rejoin_grace_s=all_settings.agent.candidate_rejoin_grace_s
        )
        return TokenResponse(server_url=settings.client_url, participant_token=token)


class LiveRoomController(Controller):
    """What recruiters watch: the interview rooms live on the LiveKit server now."""

    path = "/rooms"
    tags = ["LiveKit"]
    security = openapi.USER
    guards = [requires_staff]

    @get(
        "/live",
        operation_id="listLiveRooms",
        summary="Interview rooms live now, with their participants and the interviewer's state",
        description=(
            "From LiveKit's RoomService (ListRooms, ListParticipants), joined with the sessions they belong "
            "to. Recruiters and admins only. 503 when LiveKit cannot be reached."
        ),
        responses=problem_responses(401, 403, 503),
    )
    async def list_live_rooms(self, db_session: AsyncSession) -> LiveRooms:
        try:
            rooms = await list_live_rooms(get_settings().livekit, db_session)
        except LiveKitUnavailableError as exc:
            raise ServiceUnavailableError(detail="LiveKit could not be reached; try again") from exc
        return LiveRooms(rooms=rooms)
