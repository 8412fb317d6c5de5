"""Join-token verification with the configured API keys, refusing bad tokens the way livekit-server does."""

from __future__ import annotations

from dataclasses import dataclass, field

import jwt
from livekit.api.access_token import TokenVerifier
from livekit.protocol import models
from livekit.protocol.room import RoomConfiguration

from local_livekit.contracts import ApiKeys

_KINDS: dict[str, models.ParticipantInfo.Kind] = {
    "": models.ParticipantInfo.Kind.STANDARD,
    "standard": models.ParticipantInfo.Kind.STANDARD,
    "ingress": models.ParticipantInfo.Kind.INGRESS,
    "egress": models.ParticipantInfo.Kind.EGRESS,
    "sip": models.ParticipantInfo.Kind.SIP,
    "agent": models.ParticipantInfo.Kind.AGENT,
}


class AuthError(Exception):
    """The request may not join. `status` and `message` are what livekit-server answers."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class JoinGrant:
    """What a verified join token allows."""

    identity: str
    room: str
    name: str = ""
    kind: models.ParticipantInfo.Kind = models.ParticipantInfo.Kind.STANDARD
    metadata: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    can_publish: bool = True
    can_subscribe: bool = True
    can_publish_data: bool = True
    can_update_own_metadata: bool = False
    hidden: bool = False
    room_config: RoomConfiguration | None = None

    def permission(self) -> models.ParticipantPermission:
        return models.ParticipantPermission(
            can_publish=self.can_publish,
            can_subscribe=self.can_subscribe,
            can_publish_data=self.can_publish_data,
            can_update_metadata=self.can_update_own_metadata,
            hidden=self.hidden,
        )


def bearer_token(authorization: str | None, access_token_param: str | None) -> str | None:
    """The token from `Authorization: Bearer` (Rust SDK) or `?access_token=` (JS SDK)."""
    if authorization:
        prefix = "Bearer "
        if not authorization.startswith(prefix):
            raise AuthError(401, "invalid authorization header. Must start with Bearer ")
        return authorization[len(prefix) :].strip()
    return access_token_param or None


def verify_join_token(token: str | None, keys: ApiKeys, *, room_param: str | None = None) -> JoinGrant:
    """Verify signature, expiry and the roomJoin grant; return what the participant may do."""
    if not token:
        raise AuthError(401, "permissions denied")
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise AuthError(401, "invalid authorization token") from exc
    api_key = unverified.get("iss")
    secret = keys.secret_for(api_key) if isinstance(api_key, str) else None
    if secret is None:
        raise AuthError(401, "invalid API key")
    try:
        claims = TokenVerifier(api_key, secret).verify(token)
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise AuthError(401, f"invalid authorization token: {exc}") from exc

    video = claims.video
    if video is None or not video.room_join:
        raise AuthError(401, "permissions denied")
    if not claims.identity:
        raise AuthError(400, "participant identity cannot be empty")
    room_name = video.room or room_param or ""
    if not room_name:
        raise AuthError(400, "room name cannot be empty")
    if room_param and video.room and room_param != video.room:
        # livekit-server lets the token's room win silently; refusing makes a mismatched client visible.
        raise AuthError(401, f"permissions denied: token is for room {video.room!r}, not {room_param!r}")
    kind = _KINDS.get(claims.kind)
    if kind is None:
        raise AuthError(400, f"unknown participant kind {claims.kind!r}")
    sources = video.can_publish_sources
    return JoinGrant(
        identity=claims.identity,
        room=room_name,
        name=claims.name,
        kind=kind,
        metadata=claims.metadata,
        attributes=dict(claims.attributes or {}),
        can_publish=bool(video.can_publish) or bool(sources),
        can_subscribe=bool(video.can_subscribe),
        can_publish_data=bool(video.can_publish_data),
        can_update_own_metadata=bool(video.can_update_own_metadata),
        hidden=bool(video.hidden),
        room_config=claims.room_config,
    )
