from __future__ import annotations

import json
import uuid
from typing import Any

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
    assert claims.video.can_publish_sources == ["microphone"]
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


# The body livekit-client 2.23.0's TokenSource.endpoint sends (src/room/token-source/TokenSource.ts:
# TokenSourceRequest.toJsonString({useProtoFieldName: true})) when every fetch option is set, recorded from
# the SDK itself; test_token_source_contract.py runs the SDK against a live server.
def sdk_body(room_name: str, agent_name: str = "codevoice-interviewer") -> dict[str, Any]:
    return {
        "room_name": room_name,
        "participant_name": "Ann",
        "participant_identity": "ann",
        "participant_metadata": "m",
        "participant_attributes": {"a": "b"},
        "room_config": {"agents": [{"agent_name": agent_name, "metadata": "x"}]},
    }


async def test_standard_request_by_room_name_the_server_decides_the_rest(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    user = await make_user()
    session = await create_session(client, user)
    response = await client.post("/livekit/token", json=sdk_body(session["room_name"]), headers=user.headers)
    assert response.status_code == 201, response.text
    claims = api.TokenVerifier(TEST_ENV["LIVEKIT_API_KEY"], TEST_ENV["LIVEKIT_API_SECRET"]).verify(
        response.json()["participant_token"]
    )
    assert claims.identity == f"user-{user.id}"
    assert claims.name == (await client.get("/auth/me", headers=user.headers)).json()["display_name"]
    assert not claims.metadata
    assert not claims.attributes
    assert claims.video is not None
    assert claims.video.room == session["room_name"]
    assert claims.room_config is not None
    (dispatch,) = claims.room_config.agents
    assert dispatch.agent_name == "codevoice-interviewer"
    assert json.loads(dispatch.metadata)["session_id"] == session["id"]

    # both names of the session, agreeing
    both = {"session_id": session["id"], "room_name": session["room_name"]}
    assert (await client.post("/livekit/token", json=both, headers=user.headers)).status_code == 201
    # a room_config that repeats the room and names no agent
    repeat = {"room_name": session["room_name"], "room_config": {"name": session["room_name"]}}
    assert (await client.post("/livekit/token", json=repeat, headers=user.headers)).status_code == 201


async def test_standard_request_cannot_reach_past_its_session(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    owner, other = await make_user(), await make_user()
    session, others = await create_session(client, owner), await create_session(client, other)
    room = session["room_name"]

    def post(body: dict[str, Any]) -> Any:
        return client.post("/livekit/token", json=body, headers=owner.headers)

    assert_problem(await post(sdk_body(others["room_name"])), 404)
    assert_problem(await post(sdk_body("interview-0000000000000000")), 404)
    problem = assert_problem(await post(sdk_body(room, agent_name="some-other-agent")), 403)
    assert "codevoice-interviewer" in problem["detail"]
    two_agents = {"room_name": room, "room_config": {"agents": [{"agent_name": "codevoice-interviewer"}] * 2}}
    assert_problem(await post(two_agents), 400)
    server_only: dict[str, Any]
    for server_only in ({"empty_timeout": 3600}, {"max_participants": 50}, {"egress": {}}, {"metadata": "x"}):
        problem = assert_problem(await post({"room_name": room, "room_config": server_only}), 400)
        assert next(iter(server_only)) in problem["extra"][0]["message"]
    other_room = {"room_name": room, "room_config": {"name": others["room_name"]}}
    problem = assert_problem(await post(other_room), 400)
    assert "room_config.name" in problem["detail"]
    problem = assert_problem(await post({"room_name": others["room_name"], "session_id": session["id"]}), 400)
    assert "different sessions" in problem["detail"]
    problem = assert_problem(await post({"participant_name": "Ann"}), 400)
    assert "room_name" in problem["detail"]
    assert_problem(await post({"room_name": ""}), 400)
    assert_problem(await post({"room_name": room, "can_publish": True}), 400)


async def test_the_owner_of_a_live_session_gets_a_fresh_token_to_rejoin(
    client: AsyncTestClient[Litestar], make_user: MakeUser, service_headers: dict[str, str]
) -> None:
    """A candidate who dropped out (a reload, a lost connection) rejoins the live interview with a new token
    for the same identity; the room it creates stays open past the agent's rejoin grace (60 s + 15 s)."""
    user = await make_user()
    session = await create_session(client, user)
    first = await client.post("/livekit/token", json={"session_id": session["id"]}, headers=user.headers)
    assert first.status_code == 201, first.text
    live = await client.post(f"/internal/sessions/{session['id']}/live", headers=service_headers)
    assert live.json()["status"] == "live"

    again = await client.post("/livekit/token", json={"session_id": session["id"]}, headers=user.headers)
    assert again.status_code == 201, again.text
    verifier = api.TokenVerifier(TEST_ENV["LIVEKIT_API_KEY"], TEST_ENV["LIVEKIT_API_SECRET"])
    claims = [verifier.verify(r.json()["participant_token"]) for r in (first, again)]
    assert {c.identity for c in claims} == {f"user-{user.id}"}
    assert {c.video.room for c in claims if c.video is not None} == {session["room_name"]}
    assert [c.room_config.departure_timeout for c in claims if c.room_config is not None] == [75, 75]

    # Once the interview has ended, rejoining is refused.
    await client.post(
        f"/internal/sessions/{session['id']}/complete",
        json={"end_reason": "candidate_left"},
        headers=service_headers,
    )
    refused = await client.post("/livekit/token", json={"session_id": session["id"]}, headers=user.headers)
    assert "completed" in assert_problem(refused, 409)["detail"]
