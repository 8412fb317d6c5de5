"""Join-token verification, without a server."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import jwt
import pytest
from livekit import api
from livekit.protocol import agent_dispatch, models, room

from local_livekit.auth import AuthError, bearer_token, source_name, verify_join_token
from local_livekit.contracts import ApiKeys

SECRET = "devsecret-0123456789-0123456789-0123456789"
KEYS = ApiKeys({"devkey": SECRET, "second": "another-secret-0123456789-0123456789-0123"})


def _token(
    *,
    key: str = "devkey",
    secret: str = SECRET,
    room_name: str = "r1",
    ttl: datetime.timedelta = datetime.timedelta(minutes=5),
    **grants: object,
) -> api.AccessToken:
    return (
        api.AccessToken(key, secret)
        .with_identity("alice")
        .with_ttl(ttl)
        .with_grants(api.VideoGrants(room=room_name, **{"room_join": True, **grants}))  # type: ignore[arg-type]
    )


def test_good_token_gives_its_grants_and_claims() -> None:
    config = room.RoomConfiguration(agents=[agent_dispatch.RoomAgentDispatch(agent_name="interviewer")])
    token = (
        _token(
            key="second",
            secret="another-secret-0123456789-0123456789-0123",
            can_publish=False,
            can_update_own_metadata=True,
        )
        .with_kind("agent")
        .with_name("Interviewer")
        .with_metadata('{"a": 1}')
        .with_attributes({"role": "interviewer"})
        .with_room_config(config)
        .to_jwt()
    )
    grant = verify_join_token(token, KEYS)
    assert grant.identity == "alice"
    assert grant.room == "r1"
    assert grant.kind == models.ParticipantInfo.Kind.AGENT
    assert (grant.name, grant.metadata, grant.attributes) == (
        "Interviewer",
        '{"a": 1}',
        {"role": "interviewer"},
    )
    assert not grant.can_publish
    assert (grant.can_subscribe, grant.can_publish_data, grant.can_update_own_metadata) == (True, True, True)
    assert grant.room_config is not None
    assert grant.room_config.agents[0].agent_name == "interviewer"


# Tokens are minted when the test runs, not at collection: a long suite would outlive their expiry.
@pytest.mark.parametrize(
    ("make_token", "message"),
    [
        (lambda: None, "permissions denied"),
        (lambda: "not-a-jwt", "invalid authorization token"),
        (lambda: _token(key="unknown").to_jwt(), "invalid API key"),
        (
            lambda: _token(secret="wrong-secret-0123456789-0123456789-012345").to_jwt(),
            "invalid authorization token: Signature verification failed",
        ),
        (
            lambda: _token(ttl=datetime.timedelta(minutes=-5)).to_jwt(),
            "invalid authorization token: Signature has expired",
        ),
        (lambda: _token(room_join=False).to_jwt(), "permissions denied"),
    ],
)
def test_bad_tokens_are_refused_with_401(make_token: Callable[[], str | None], message: str) -> None:
    with pytest.raises(AuthError) as refused:
        verify_join_token(make_token(), KEYS)
    assert refused.value.status == 401
    assert refused.value.message == message


def test_token_without_expiry_is_refused() -> None:
    token = jwt.encode({"iss": "devkey", "sub": "alice", "video": {"roomJoin": True, "room": "r1"}}, SECRET)
    with pytest.raises(AuthError, match="invalid authorization token"):
        verify_join_token(token, KEYS)


def test_token_for_another_room_is_refused() -> None:
    with pytest.raises(AuthError, match="token is for room 'r1'") as refused:
        verify_join_token(_token().to_jwt(), KEYS, room_param="r2")
    assert refused.value.status == 401
    assert verify_join_token(_token().to_jwt(), KEYS, room_param="r1").room == "r1"


def test_room_comes_from_the_query_when_the_token_names_none() -> None:
    # AccessToken refuses to mint this; livekit-server still accepts it with ?room=
    token = jwt.encode(
        {"iss": "devkey", "sub": "alice", "exp": 4102444800, "video": {"roomJoin": True}}, SECRET
    )
    assert verify_join_token(token, KEYS, room_param="lobby").room == "lobby"
    with pytest.raises(AuthError, match="room name cannot be empty") as refused:
        verify_join_token(token, KEYS)
    assert refused.value.status == 400


def _raw_token(video: dict[str, object]) -> str:
    """A token as a non-Python minter writes it: only the grants given, nothing filled in."""
    claims = {
        "iss": "devkey",
        "sub": "alice",
        "exp": 4102444800,
        "video": {"roomJoin": True, "room": "r1", **video},
    }
    return jwt.encode(claims, SECRET)


_SOURCE = models.TrackSource


@pytest.mark.parametrize(
    ("source", "name"),
    [
        (_SOURCE.UNKNOWN, "unknown"),
        (_SOURCE.CAMERA, "camera"),
        (_SOURCE.MICROPHONE, "microphone"),
        (_SOURCE.SCREEN_SHARE, "screen_share"),
        (_SOURCE.SCREEN_SHARE_AUDIO, "screen_share_audio"),
        (99, "99"),  # a value the enum does not know
    ],
)
def test_track_sources_are_named_as_in_can_publish_sources(source: int, name: str) -> None:
    assert source_name(source) == name


def test_can_publish_sources_narrow_publishing() -> None:
    grant = verify_join_token(_token(can_publish_sources=["microphone", "screen_share_audio"]).to_jwt(), KEYS)
    assert grant.can_publish
    allowed = [s for s in models.TrackSource.values() if grant.can_publish_source(s)]
    assert allowed == [_SOURCE.MICROPHONE, _SOURCE.SCREEN_SHARE_AUDIO]
    assert list(grant.permission().can_publish_sources) == [_SOURCE.MICROPHONE, _SOURCE.SCREEN_SHARE_AUDIO]


def test_no_source_list_allows_every_source() -> None:
    grant = verify_join_token(_token().to_jwt(), KEYS)
    assert all(grant.can_publish_source(s) for s in models.TrackSource.values())
    assert list(grant.permission().can_publish_sources) == []


def test_can_publish_false_forbids_every_source_even_listed_ones() -> None:
    grant = verify_join_token(_token(can_publish=False, can_publish_sources=["microphone"]).to_jwt(), KEYS)
    assert not grant.can_publish
    assert not any(grant.can_publish_source(s) for s in models.TrackSource.values())
    assert not grant.permission().can_publish
    # hand-written, without canPublishData: that follows canPublish too
    raw = verify_join_token(_raw_token({"canPublish": False, "canPublishSources": ["microphone"]}), KEYS)
    assert (raw.can_publish, raw.can_publish_data) == (False, False)
    assert not raw.can_publish_source(_SOURCE.MICROPHONE)


def test_source_names_are_compared_verbatim() -> None:
    # livekit-server compares the lower-case names exactly; an upper-case one matches no track, though the
    # permission it reports (upper-cased before lookup) still names the source
    grant = verify_join_token(_raw_token({"canPublishSources": ["MICROPHONE", "webcam"]}), KEYS)
    assert not any(grant.can_publish_source(s) for s in models.TrackSource.values())
    assert list(grant.permission().can_publish_sources) == [_SOURCE.MICROPHONE, _SOURCE.UNKNOWN]


@pytest.mark.parametrize(
    ("video", "can_publish", "can_publish_data"),
    [
        ({}, True, True),
        ({"canPublish": None}, True, True),
        ({"canPublish": False}, False, False),
        ({"canPublish": False, "canPublishData": True}, False, True),
        ({"canPublish": True, "canPublishData": False}, True, False),
    ],
)
def test_unset_publish_flags_take_livekit_servers_defaults(
    video: dict[str, object], can_publish: bool, can_publish_data: bool
) -> None:
    grant = verify_join_token(_raw_token(video), KEYS)
    assert (grant.can_publish, grant.can_publish_data) == (can_publish, can_publish_data)


@pytest.mark.parametrize(
    "video", [{"canPublishSources": "microphone"}, {"canPublishSources": [1]}, {"canPublish": "no"}]
)
def test_malformed_publish_grants_are_refused(video: dict[str, object]) -> None:
    with pytest.raises(AuthError, match=r"invalid authorization token: video\.canPublish") as refused:
        verify_join_token(_raw_token(video), KEYS)
    assert refused.value.status == 401


def test_bearer_header_and_query_parameter() -> None:
    assert bearer_token("Bearer abc", None) == "abc"
    assert bearer_token(None, "xyz") == "xyz"
    assert bearer_token(None, None) is None
    with pytest.raises(AuthError, match="Must start with Bearer"):
        bearer_token("Basic abc", None)
