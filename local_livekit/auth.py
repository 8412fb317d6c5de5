"""Join-token verification with the configured API keys, refusing bad tokens the way livekit-server does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

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


def source_name(source: int) -> str:
    """A TrackSource as `canPublishSources` spells it: the enum name lower-cased ("screen_share"), as
    livekit/protocol's sourceToString does."""
    try:
        return models.TrackSource.Name(source).lower()
    except ValueError:
        # Go's String() of a value its enum does not know is the number; no grant can name it then either
        return str(source)


def _source_value(name: str) -> models.TrackSource:
    # livekit/protocol's sourceToProto: a name it does not know becomes UNKNOWN in the permission
    try:
        return cast("models.TrackSource", models.TrackSource.Value(name.upper()))
    except ValueError:
        return models.TrackSource.UNKNOWN


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
    # `canPublishSources` as written in the token; empty allows every source (when `can_publish`)
    can_publish_sources: tuple[str, ...] = ()
    can_subscribe: bool = True
    can_publish_data: bool = True
    can_update_own_metadata: bool = False
    hidden: bool = False
    room_config: RoomConfiguration | None = None

    def can_publish_source(self, source: int) -> bool:
        """livekit/protocol's VideoGrant.GetCanPublishSource: `canPublish: false` forbids every source, the
        source list only narrows a grant that allows publishing."""
        if not self.can_publish:
            return False
        return not self.can_publish_sources or source_name(source) in self.can_publish_sources

    def permission(self) -> models.ParticipantPermission:
        return models.ParticipantPermission(
            can_publish=self.can_publish,
            can_subscribe=self.can_subscribe,
            can_publish_data=self.can_publish_data,
            can_publish_sources=[_source_value(name) for name in self.can_publish_sources],
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
    except (jwt.PyJWTError, ValueError, TypeError, AttributeError) as exc:
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
    raw_video = unverified.get("video")
    # The SDK's VideoGrants fills absent flags with True; livekit-server tells absent from false, so read
    # the two whose defaults differ from the token as written (the signature is verified above).
    raw: Mapping[str, object] = raw_video if isinstance(raw_video, dict) else {}
    can_publish = _flag(raw, "canPublish", default=True)
    return JoinGrant(
        identity=claims.identity,
        room=room_name,
        name=claims.name,
        kind=kind,
        metadata=claims.metadata,
        attributes=dict(claims.attributes or {}),
        can_publish=can_publish,
        can_publish_sources=_sources(raw),
        can_subscribe=bool(video.can_subscribe),
        # unset `canPublishData` follows `canPublish` (VideoGrant.GetCanPublishData)
        can_publish_data=_flag(raw, "canPublishData", default=can_publish),
        can_update_own_metadata=bool(video.can_update_own_metadata),
        hidden=bool(video.hidden),
        room_config=claims.room_config,
    )


def _flag(video: Mapping[str, object], key: str, *, default: bool) -> bool:
    """An optional boolean grant: absent or null takes `default`; any other non-boolean fails to decode
    in livekit-server, so the token is refused."""
    value = video.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise AuthError(401, f"invalid authorization token: video.{key} must be a boolean")
    return value


def _sources(video: Mapping[str, object]) -> tuple[str, ...]:
    """`canPublishSources`, compared verbatim later (livekit-server neither lower-cases nor checks the
    names: an unknown one simply matches no track)."""
    value = video.get("canPublishSources")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise AuthError(401, "invalid authorization token: video.canPublishSources must be a list of strings")
    return tuple(value)
