"""LiveKit's standard token request and response, as `TokenSource.endpoint` in livekit-client sends and reads
them (the protobuf messages `livekit.TokenSourceRequest` / `TokenSourceResponse` in JSON with their proto
field names). Source: livekit-client 2.23.0 `src/room/token-source/TokenSource.ts`, @livekit/protocol 1.52.1.

The server decides identity, grants, TTL and the dispatch. The caller only names its session; everything
else is either checked against what the server would issue anyway or ignored, as each field says.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

_ROOM_NAME = msgspec.Meta(min_length=1, max_length=96, description="A session's `room_name`.")
_SHORT_TEXT = msgspec.Meta(max_length=1024)


class RoomAgentDispatchRequest(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """`livekit.RoomAgentDispatch`: which agent the room dispatches. Only the interviewer may be named."""

    agent_name: Annotated[
        str, msgspec.Meta(max_length=128, description="Must be the interviewer agent's name (or empty).")
    ] = ""
    metadata: Annotated[
        str,
        msgspec.Meta(
            max_length=4096,
            description="Ignored: the interviewer's job metadata comes from the session on the server.",
        ),
    ] = ""
    deployment: Annotated[str, msgspec.Meta(max_length=128, description="Ignored (LiveKit Cloud only).")] = ""


class RoomConfigRequest(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """`livekit.RoomConfiguration`, restricted to naming the room and the interviewer agent. The other
    fields of LiveKit's message (timeouts, egress, participant limits) are the server's to set, so they are
    refused as unknown fields."""

    name: Annotated[
        str, msgspec.Meta(max_length=96, description="Empty, or the same room as `room_name`.")
    ] = ""
    agents: Annotated[list[RoomAgentDispatchRequest], msgspec.Meta(max_length=1)] = []


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """LiveKit's standard token request. Name the session by `room_name` (the room name the session API
    returns) or by `session_id`; one of the two is required, and if both are given they must agree.

    `participant_identity`, `participant_name`, `participant_metadata` and `participant_attributes` are
    accepted so that LiveKit's clients can send them, and ignored: the token's identity is `user-<id>`, its
    name is the account's display name, and it carries no client-chosen metadata or attributes.
    """

    room_name: Annotated[str, _ROOM_NAME] | None = None
    session_id: UUID | None = None
    participant_identity: Annotated[str, _SHORT_TEXT] | None = None
    participant_name: Annotated[str, _SHORT_TEXT] | None = None
    participant_metadata: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    participant_attributes: Annotated[dict[str, str], msgspec.Meta(max_length=64)] | None = None
    room_config: RoomConfigRequest | None = None


class TokenResponse(msgspec.Struct):
    """LiveKit's standard token response: where to connect and the participant token (a JWT, valid for at
    most 10 minutes, for one room and one identity)."""

    server_url: str
    participant_token: str


class LiveParticipant(msgspec.Struct):
    """A participant of a live room, as LiveKit's RoomService lists it."""

    identity: str
    name: str
    kind: Literal["standard", "agent"]
    # The interviewer's `lk.agent.state` attribute (initializing, listening, thinking, speaking); null for
    # people.
    agent_state: str | None
    joined_at: datetime | None


class LiveRoom(msgspec.Struct):
    """A CodeVoice interview room that exists on the LiveKit server now."""

    room_name: str
    session_id: UUID
    session_status: str
    candidate_name: str
    role_title: str
    started_at: datetime | None
    participants: list[LiveParticipant]


class LiveRooms(msgspec.Struct):
    rooms: list[LiveRoom]
