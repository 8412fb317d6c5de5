"""Ending a session's LiveKit room through the server API (RoomService.DeleteRoom).

A cancelled session must not keep its interviewer talking: deleting the room disconnects the candidate
and the agent, and the agent's job ends as it does for any closed room.
"""

from __future__ import annotations

import aiohttp
import structlog
from livekit import api
from livekit.protocol.room import DeleteRoomRequest

from control_plane.settings import LiveKitSettings

logger = structlog.get_logger(__name__)

# A cancel has already been committed when this runs; a slow LiveKit must not hold the worker long.
DELETE_ROOM_TIMEOUT_S = 10.0


async def delete_room(settings: LiveKitSettings, room_name: str) -> bool:
    """Disconnect everyone in `room_name`. False when there is no such room (nobody joined yet, or it
    already closed). Other LiveKit errors are raised."""
    timeout = aiohttp.ClientTimeout(total=DELETE_ROOM_TIMEOUT_S)
    async with api.LiveKitAPI(settings.url, settings.api_key, settings.api_secret, timeout=timeout) as lk:
        try:
            await lk.room.delete_room(DeleteRoomRequest(room=room_name))
        except api.TwirpError as exc:
            if exc.code == api.TwirpErrorCode.NOT_FOUND:
                return False
            raise
    return True


async def end_room(settings: LiveKitSettings, session_id: str, room_name: str) -> None:
    """Best effort, after the session is already final: an unreachable LiveKit is logged, not raised,
    and the agent still learns the session is over from the control plane's 409 on its next report."""
    log = logger.bind(session_id=session_id, room_name=room_name)
    try:
        deleted = await delete_room(settings, room_name)
    except (api.TwirpError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("room.delete_failed", error=f"{type(exc).__name__}: {exc}")
        return
    log.info("room.deleted" if deleted else "room.already_gone")
