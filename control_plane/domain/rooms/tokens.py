"""LiveKit room tokens: one room, one identity, short-lived, and the interviewer dispatched by name."""

from __future__ import annotations

import json
import math
from datetime import timedelta

from livekit import api
from livekit.protocol.agent_dispatch import RoomAgentDispatch
from livekit.protocol.room import RoomConfiguration

from control_plane.db import models as m
from control_plane.settings import LiveKitSettings


def dispatch_metadata(session: m.InterviewSession) -> str:
    """What the agent reads from its job: everything it needs to run this interview."""
    return json.dumps(
        {
            "session_id": str(session.id),
            "role": session.role_title,
            "seniority": session.seniority,
            "topics": list(session.topics),
            "duration_minutes": session.planned_duration_minutes,
            "language": session.language,
        }
    )


def participant_identity(user: m.User) -> str:
    return f"user-{user.id}"


# How much longer than the agent's rejoin grace the room stays open once the candidate has left: the agent
# must be the one to end the interview (with `candidate_left`), not livekit-server closing the room.
ROOM_DEPARTURE_MARGIN_S = 15


def room_departure_timeout_s(rejoin_grace_s: float | None) -> int:
    """The room's `departure_timeout` in seconds (0: the server's default) for the agent's rejoin grace.

    livekit-server closes a room this long after its last non-agent participant left (an agent alone does
    not keep a room open), so it must outlast the grace the interviewer gives a candidate to come back.
    """
    if rejoin_grace_s is None or rejoin_grace_s <= 0:
        return 0
    return math.ceil(rejoin_grace_s) + ROOM_DEPARTURE_MARGIN_S


def room_token(
    settings: LiveKitSettings,
    session: m.InterviewSession,
    user: m.User,
    *,
    rejoin_grace_s: float | None = None,
) -> str:
    """The candidate's token. The room config (applied when the token creates the room) dispatches the
    interviewer and keeps the room open `rejoin_grace_s` (+ a margin) after the candidate drops out."""
    ttl = timedelta(seconds=min(settings.token_ttl_s, 600))
    config = RoomConfiguration(
        name=session.room_name,
        departure_timeout=room_departure_timeout_s(rejoin_grace_s),
        agents=[RoomAgentDispatch(agent_name=settings.agent_name, metadata=dispatch_metadata(session))],
    )
    return (
        api.AccessToken(settings.api_key, settings.api_secret)
        .with_identity(participant_identity(user))
        .with_name(user.display_name)
        .with_ttl(ttl)
        .with_grants(
            api.VideoGrants(
                room_join=True,
                room=session.room_name,
                can_publish=True,
                # A voice interview: the candidate's microphone, no camera or screen share.
                can_publish_sources=["microphone"],
                can_subscribe=True,
                can_publish_data=True,
                can_update_own_metadata=False,
            )
        )
        .with_room_config(config)
        .to_jwt()
    )
