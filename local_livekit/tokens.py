"""Access tokens as livekit-server handles them outside of /rtc: verifying the Bearer tokens of the server
API and of agent workers, minting agent job tokens, and signing webhook bodies.

Verification and minting use livekit-api's own AccessToken / TokenVerifier, so claims are read and written
exactly as the SDKs do.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import secrets
from collections.abc import Mapping

import jwt
from livekit import api
from livekit.api.access_token import Claims
from livekit.protocol import models

from local_livekit.contracts import ApiKeys

BEARER_PREFIX = "Bearer "
AGENT_TOKEN_TTL = datetime.timedelta(hours=1)
WEBHOOK_TOKEN_TTL = datetime.timedelta(minutes=5)
# The attribute livekit-server adds to every agent job participant (the SDK adds "lk.agent.name" itself).
SERVER_AGENT_NAME_ATTRIBUTE = "lk.agent_name"
SDK_AGENT_NAME_ATTRIBUTE = "lk.agent.name"

# livekit's guid alphabet (shortuuid's): ids look like the real server's, e.g. AJ_xxxxxxxxxxxx.
_ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ID_LENGTH = 12


class TokenError(Exception):
    """A token that cannot be trusted: malformed, signed with an unknown key or a wrong secret, or expired."""


def new_id(prefix: str) -> str:
    """A random id with livekit's prefix convention (EV_, AJ_, AD_, AW_ ...)."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <jwt>` header; None when there is no header.

    A header that does not start with "Bearer " is an error, as in livekit-server's auth middleware.
    """
    if not authorization:
        return None
    if not authorization.startswith(BEARER_PREFIX):
        raise TokenError("invalid authorization header. Must start with Bearer ")
    return authorization[len(BEARER_PREFIX) :]


def verify_token(token: str, keys: ApiKeys) -> tuple[str, Claims]:
    """Verify a JWT against the configured keys; returns (api_key, claims)."""
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise TokenError(f"invalid authorization token: {exc}") from exc
    api_key = unverified.get("iss")
    if not isinstance(api_key, str) or not api_key:
        raise TokenError("invalid authorization token: no issuer")
    secret = keys.secret_for(api_key)
    if secret is None:
        raise TokenError(f"invalid API key: {api_key}")
    try:
        claims = api.TokenVerifier(api_key, secret).verify(token)
    except (jwt.PyJWTError, ValueError, TypeError, AttributeError) as exc:
        raise TokenError(f"invalid authorization token: {exc}") from exc
    return api_key, claims


def mint_agent_token(
    api_key: str,
    api_secret: str,
    *,
    room: str,
    identity: str,
    name: str,
    metadata: str,
    attributes: Mapping[str, str],
    permissions: models.ParticipantPermission,
) -> str:
    """The job participant's token, with the grants livekit-server's BuildAgentToken gives it."""
    grants = api.VideoGrants(
        room_join=True,
        room=room,
        agent=True,
        can_publish=permissions.can_publish,
        can_subscribe=permissions.can_subscribe,
        can_publish_data=permissions.can_publish_data,
        can_update_own_metadata=permissions.can_update_metadata,
        hidden=permissions.hidden,
        can_subscribe_metrics=permissions.can_subscribe_metrics,
    )
    token = (
        api.AccessToken(api_key, api_secret)
        .with_identity(identity)
        .with_name(name)
        .with_kind("agent")
        .with_metadata(metadata)
        .with_attributes(dict(attributes))
        .with_grants(grants)
        .with_ttl(AGENT_TOKEN_TTL)
    )
    return token.to_jwt()


def sign_webhook(body: bytes, api_key: str, api_secret: str) -> str:
    """The Authorization value of a webhook POST: a JWT whose sha256 claim is base64(sha256(body))."""
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    return api.AccessToken(api_key, api_secret).with_sha256(digest).with_ttl(WEBHOOK_TOKEN_TTL).to_jwt()
