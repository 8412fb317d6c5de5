"""The interview rooms live on the LiveKit server now, from its RoomService (ListRooms, ListParticipants),
joined with the sessions they belong to. LiveKit is the only record of who is in a room right now."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
from livekit import api
from livekit.agents.types import ATTRIBUTE_AGENT_STATE
from livekit.protocol import models
from livekit.protocol.room import ListParticipantsRequest, ListRoomsRequest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from control_plane.db import models as m
from control_plane.domain.rooms.schemas import LiveParticipant, LiveRoom
from control_plane.settings import LiveKitSettings

LIST_TIMEOUT_S = 10.0


class LiveKitUnavailableError(RuntimeError):
    """LiveKit's RoomService could not be reached or refused the request."""


def _time(seconds: int) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


def _participant(info: models.ParticipantInfo) -> LiveParticipant:
    is_agent = info.kind == models.ParticipantInfo.Kind.AGENT
    return LiveParticipant(
        identity=info.identity,
        name=info.name,
        kind="agent" if is_agent else "standard",
        agent_state=(info.attributes.get(ATTRIBUTE_AGENT_STATE) or None) if is_agent else None,
        joined_at=_time(info.joined_at),
    )


async def list_live_rooms(settings: LiveKitSettings, db: AsyncSession) -> list[LiveRoom]:
    """Every LiveKit room that belongs to a CodeVoice session, with its active participants, oldest first.

    Raises:
        LiveKitUnavailableError: RoomService unreachable, timed out or erred.
    """
    timeout = aiohttp.ClientTimeout(total=LIST_TIMEOUT_S)
    try:
        async with api.LiveKitAPI(settings.url, settings.api_key, settings.api_secret, timeout=timeout) as lk:
            rooms = (await lk.room.list_rooms(ListRoomsRequest())).rooms
            names = [room.name for room in rooms]
            sessions = {
                session.room_name: (session, owner)
                for session, owner in (
                    await db.execute(
                        select(m.InterviewSession, m.User)
                        .join(m.User, m.User.id == m.InterviewSession.owner_id)
                        .where(m.InterviewSession.room_name.in_(names))
                    )
                ).tuples()
            }
            live: list[LiveRoom] = []
            for room in sorted(rooms, key=lambda r: r.creation_time):
                if room.name not in sessions:
                    continue  # not ours (a shared LiveKit project)
                session, owner = sessions[room.name]
                try:
                    listed = await lk.room.list_participants(ListParticipantsRequest(room=room.name))
                except api.TwirpError as exc:
                    if exc.code == api.TwirpErrorCode.NOT_FOUND:
                        continue  # it closed since it was listed
                    raise
                live.append(
                    LiveRoom(
                        room_name=room.name,
                        session_id=session.id,
                        session_status=session.status,
                        candidate_name=owner.display_name,
                        role_title=session.role_title,
                        started_at=_time(room.creation_time),
                        participants=[
                            _participant(p)
                            for p in listed.participants
                            if p.state == models.ParticipantInfo.State.ACTIVE
                        ],
                    )
                )
    except (api.TwirpError, aiohttp.ClientError, TimeoutError) as exc:
        raise LiveKitUnavailableError(f"{type(exc).__name__}: {exc}") from exc
    return live
