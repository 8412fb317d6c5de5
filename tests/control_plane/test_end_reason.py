"""Why an interview ended: the agent sends `end_reason` with `complete` (the body is optional, so agents from
before it still complete sessions), the session stores it once, and the API and its OpenAPI document show
it. `room_finished` completing a session the agent did not complete records `room_closed`."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import MakeUser
from tests.control_plane.helpers import assert_problem, create_session
from tests.control_plane.test_webhooks import deliver, event_body, sign


async def _live_session(
    client: AsyncTestClient[Litestar], make_user: MakeUser, service_headers: dict[str, str]
) -> tuple[Any, dict[str, Any], str]:
    user = await make_user()
    session = await create_session(client, user)
    base = f"/internal/sessions/{session['id']}"
    assert (await client.post(f"{base}/live", headers=service_headers)).status_code == 200
    return user, session, base


async def test_the_agents_end_reason_is_stored_once_and_returned(
    client: AsyncTestClient[Litestar], make_user: MakeUser, service_headers: dict[str, str]
) -> None:
    user, session, base = await _live_session(client, make_user, service_headers)
    live = (await client.get(f"/sessions/{session['id']}", headers=user.headers)).json()
    assert live["end_reason"] is None

    left = {"end_reason": "candidate_left"}
    done = await client.post(f"{base}/complete", json=left, headers=service_headers)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    # A retried (or late, second) complete changes nothing, its reason included.
    again = await client.post(f"{base}/complete", json={"end_reason": "time_up"}, headers=service_headers)
    assert again.status_code == 200, again.text

    got = (await client.get(f"/sessions/{session['id']}", headers=user.headers)).json()
    assert (got["status"], got["end_reason"], got["failure_reason"]) == ("completed", "candidate_left", None)
    listed = (await client.get("/sessions", headers=user.headers)).json()["items"]
    assert [s["end_reason"] for s in listed if s["id"] == session["id"]] == ["candidate_left"]


async def test_an_agent_that_sends_no_body_still_completes_the_session(
    client: AsyncTestClient[Litestar], make_user: MakeUser, service_headers: dict[str, str]
) -> None:
    user, session, base = await _live_session(client, make_user, service_headers)
    done = await client.post(f"{base}/complete", headers=service_headers)
    assert done.status_code == 200, done.text
    got = (await client.get(f"/sessions/{session['id']}", headers=user.headers)).json()
    assert (got["status"], got["end_reason"]) == ("completed", None)


async def test_an_end_reason_that_is_not_a_plain_name_is_refused(
    client: AsyncTestClient[Litestar], make_user: MakeUser, service_headers: dict[str, str]
) -> None:
    user, session, base = await _live_session(client, make_user, service_headers)
    for body in (
        {"end_reason": "Time Up"},
        {"end_reason": ""},
        {"end_reason": "x" * 33},
        {"end_reason": 7},
        {"end_reason": "time_up", "extra": 1},
    ):
        assert_problem(await client.post(f"{base}/complete", json=body, headers=service_headers), 400)
    # Refusals changed nothing.
    assert (await client.get(f"/sessions/{session['id']}", headers=user.headers)).json()["status"] == "live"


async def test_room_finished_records_room_closed_unless_the_agent_completed_first(
    client: AsyncTestClient[Litestar], make_user: MakeUser, service_headers: dict[str, str]
) -> None:
    user, session, _base = await _live_session(client, make_user, service_headers)
    finished = event_body("room_finished", session["room_name"])
    assert (await deliver(client, finished, sign(finished))).status_code == 200
    got = (await client.get(f"/sessions/{session['id']}", headers=user.headers)).json()
    assert (got["status"], got["end_reason"]) == ("completed", "room_closed")

    user, session, base = await _live_session(client, make_user, service_headers)
    await client.post(f"{base}/complete", json={"end_reason": "time_up"}, headers=service_headers)
    finished = event_body("room_finished", session["room_name"])
    assert (await deliver(client, finished, sign(finished))).status_code == 200
    got = (await client.get(f"/sessions/{session['id']}", headers=user.headers)).json()
    assert (got["status"], got["end_reason"]) == ("completed", "time_up")


async def test_the_openapi_document_describes_end_reason(client: AsyncTestClient[Litestar]) -> None:
    document = (await client.get("/docs/openapi.json")).json()
    schemas = document["components"]["schemas"]
    session_out = next(schema for name, schema in schemas.items() if name.endswith("SessionOut"))
    end_reason = session_out["properties"]["end_reason"]
    assert "candidate_left" in str(end_reason.get("description", "")) or any(
        "candidate_left" in str(option.get("description", "")) for option in end_reason.get("oneOf", [])
    ), end_reason
    complete = document["paths"]["/internal/sessions/{session_id}/complete"]["post"]
    assert complete["requestBody"]["required"] is False, complete["requestBody"]


async def test_the_migration_added_the_column(db_session: AsyncSession) -> None:
    """The test database is built by `alembic upgrade head` (tests/conftest.py)."""
    row = (
        await db_session.execute(
            text(
                "SELECT data_type, character_maximum_length, is_nullable FROM information_schema.columns "
                "WHERE table_name = 'interview_sessions' AND column_name = 'end_reason'"
            )
        )
    ).one()
    assert tuple(row) == ("character varying", 32, "YES")
