"""What a token request may ask for: which of the caller's sessions, and at most the interviewer agent.

Everything else in LiveKit's standard request is the server's to decide (see `schemas.TokenRequest`).
"""

from __future__ import annotations

from litestar.exceptions import PermissionDeniedException, ValidationException
from sqlalchemy.ext.asyncio import AsyncSession

from control_plane.db import models as m
from control_plane.domain.interviews.access import get_own_session, get_own_session_by_room
from control_plane.domain.rooms.schemas import RoomConfigRequest, TokenRequest


async def requested_session(db: AsyncSession, user: m.User, data: TokenRequest) -> m.InterviewSession:
    """The caller's own session that `data` names.

    Raises:
        ValidationException (400): neither `room_name` nor `session_id`, or they name different sessions.
        NotFoundException (404): no such session, or it belongs to someone else.
    """
    if data.session_id is not None:
        session = await get_own_session(db, user, data.session_id)
        if data.room_name is not None and data.room_name != session.room_name:
            raise ValidationException(detail="room_name and session_id name different sessions")
        return session
    if data.room_name is not None:
        return await get_own_session_by_room(db, user, data.room_name)
    raise ValidationException(detail="Name the session to join: room_name (or session_id) is required")


def check_room_config(config: RoomConfigRequest | None, room_name: str, agent_name: str) -> None:
    """A client's `room_config` may repeat the room and name the interviewer agent, nothing more.

    Raises:
        ValidationException (400): `room_config.name` is another room.
        PermissionDeniedException (403): an agent other than the interviewer is named.
    """
    if config is None:
        return
    if config.name and config.name != room_name:
        raise ValidationException(detail="room_config.name must be empty or the session's room_name")
    for dispatch in config.agents:
        if dispatch.agent_name and dispatch.agent_name != agent_name:
            raise PermissionDeniedException(
                detail=f"room_config may only dispatch the interviewer agent '{agent_name}'"
            )
