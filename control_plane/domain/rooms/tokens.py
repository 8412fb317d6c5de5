"""LiveKit room tokens: one room, one identity, short-lived, and the interviewer dispatched by name."""

from __future__ import annotations

import json
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


def room_token(settings: LiveKitSettings, session: m.InterviewSession, user: m.User) -> str:
    ttl = timedelta(seconds=min(settings.token_ttl_s, 600))
    config = RoomConfiguration(
        name=session.room_name,
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
