from __future__ import annotations

from uuid import UUID

import msgspec


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    """LiveKit's standard token endpoint takes room and participant fields; here the session decides
    both, so the only input is the session id."""

    session_id: UUID


class TokenResponse(msgspec.Struct):
    server_url: str
    participant_token: str
