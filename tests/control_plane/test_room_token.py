from __future__ import annotations

import json
import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient
from livekit import api

from tests.conftest import TEST_ENV, MakeUser
from tests.control_plane.helpers import assert_problem, create_session


async def test_token_joins_exactly_one_room_as_the_caller(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    user = await make_user()
    session = await create_session(client, user, topics=["system design"], planned_duration_minutes=30)
    response = await client.post("/livekit/token", json={"session_id": session["id"]}, headers=user.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["server_url"] == TEST_ENV["LIVEKIT_URL"]

    claims = api.TokenVerifier(TEST_ENV["LIVEKIT_API_KEY"], TEST_ENV["LIVEKIT_API_SECRET"]).verify(
        body["participant_token"]
    )
    assert claims.identity == f"user-{user.id}"
    assert claims.video is not None
    assert claims.video.room == session["room_name"]
    assert claims.video.room_join is True
    assert claims.video.can_publish is True
    assert claims.video.can_subscribe is True
    assert not claims.video.room_admin
    assert not claims.video.room_create

    raw = api.TokenVerifier(TEST_ENV["LIVEKIT_API_KEY"], TEST_ENV["LIVEKIT_API_SECRET"])
    import jwt

    decoded = jwt.decode(
        body["participant_token"], TEST_ENV["LIVEKIT_API_SECRET"], algorithms=["HS256"], issuer=raw.api_key
    )
    assert 0 < decoded["exp"] - decoded["nbf"] <= 600

    assert claims.room_config is not None
    (dispatch,) = claims.room_config.agents
    assert dispatch.agent_name == "codevoice-interviewer"
    metadata = json.loads(dispatch.metadata)
    assert metadata == {
        "session_id": session["id"],
        "role": "Backend Engineer",
        "seniority": "senior",
        "topics": ["system design"],
        "duration_minutes": 30,
        "language": "en",
    }


async def test_token_for_someone_elses_or_unknown_session_is_404(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    owner, other, recruiter = await make_user(), await make_user(), await make_user(role="recruiter")
    session = await create_session(client, owner)
    for user in (other, recruiter):
        assert_problem(
            await client.post("/livekit/token", json={"session_id": session["id"]}, headers=user.headers), 404
        )
    assert_problem(
        await client.post("/livekit/token", json={"session_id": str(uuid.uuid4())}, headers=owner.headers),
        404,
    )


async def test_token_bad_input(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    user = await make_user()
    for body in ({}, {"session_id": "nope"}, {"session_id": 7}):
        assert_problem(await client.post("/livekit/token", json=body, headers=user.headers), 400)
    response = await client.post(
        "/livekit/token", content="{not json", headers={**user.headers, "Content-Type": "application/json"}
    )
    assert_problem(response, 400)
    assert_problem(await client.post("/livekit/token", json={"session_id": str(uuid.uuid4())}), 401)
