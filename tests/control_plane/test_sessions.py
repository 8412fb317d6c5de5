from __future__ import annotations

import uuid

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from control_plane.db import models as m
from control_plane.domain.interviews.schemas import LANGUAGE_PATTERN
from control_plane.domain.interviews.services import InterviewSessionService
from control_plane.lib.db import get_alchemy_config
from tests.conftest import MakeUser
from tests.control_plane.helpers import SESSION_BODY, assert_problem, create_session


async def test_create_get_and_list_own_sessions(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    alice, bob = await make_user(), await make_user()
    created = [await create_session(client, alice, role_title=f"Engineer {i}") for i in range(3)]
    await create_session(client, bob)
    first = created[0]
    assert first["status"] == "created"
    assert first["topics"] == ["python", "databases"]
    assert first["language"] == "en"
    assert first["room_name"].startswith("interview-")

    fetched = await client.get(f"/sessions/{first['id']}", headers=alice.headers)
    assert fetched.status_code == 200
    assert fetched.json()["id"] == first["id"]

    page1 = (await client.get("/sessions?page=1&page_size=2", headers=alice.headers)).json()
    page2 = (await client.get("/sessions?page=2&page_size=2", headers=alice.headers)).json()
    assert page1["total"] == 3
    assert len(page1["items"]) == 2
    assert len(page2["items"]) == 1
    listed = {item["id"] for item in page1["items"] + page2["items"]}
    assert listed == {item["id"] for item in created}


async def test_other_users_session_is_not_found(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    alice, mallory = await make_user(), await make_user()
    session = await create_session(client, alice)
    for path in (f"/sessions/{session['id']}", f"/sessions/{session['id']}/transcript"):
        assert_problem(await client.get(path, headers=mallory.headers), 404)
    assert_problem(await client.post(f"/sessions/{session['id']}/cancel", headers=mallory.headers), 404)
    assert (await client.get(f"/sessions/{session['id']}", headers=alice.headers)).json()[
        "status"
    ] == "created"


async def test_recruiter_and_admin_see_all_sessions(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    candidate = await make_user()
    session = await create_session(client, candidate)
    for role in ("recruiter", "admin"):
        staff = await make_user(role=role)
        assert (await client.get(f"/sessions/{session['id']}", headers=staff.headers)).status_code == 200
        listed = (await client.get("/sessions?page_size=100", headers=staff.headers)).json()
        assert session["id"] in {item["id"] for item in listed["items"]}


async def test_unknown_session_and_bad_ids(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    user = await make_user()
    assert_problem(await client.get(f"/sessions/{uuid.uuid4()}", headers=user.headers), 404)
    bad = await client.get("/sessions/not-a-uuid", headers=user.headers)
    assert bad.status_code in {400, 404}
    assert_problem(await client.get("/sessions?page=0", headers=user.headers), 400)
    assert_problem(await client.get("/sessions?page_size=1000", headers=user.headers), 400)


@pytest.mark.parametrize(
    "changes",
    [
        {"seniority": "wizard"},
        {"topics": []},
        {"topics": "python"},
        {"planned_duration_minutes": 1},
        {"planned_duration_minutes": "twenty"},
        {"role_title": ""},
        {"role_title": "    "},
        {"topics": ["python", "   "]},
        {"language": "english please"},
        {"language": "de"},
        {"unexpected": True},
    ],
)
async def test_create_rejects_bad_input(
    client: AsyncTestClient[Litestar], make_user: MakeUser, changes: dict[str, object]
) -> None:
    user = await make_user()
    response = await client.post("/sessions", json={**SESSION_BODY, **changes}, headers=user.headers)
    assert_problem(response, 400)
    assert (await client.get("/sessions", headers=user.headers)).json()["total"] == 0


async def test_create_requires_authentication(client: AsyncTestClient[Litestar]) -> None:
    assert_problem(await client.post("/sessions", json=SESSION_BODY), 401)


async def test_cancel_then_illegal_transitions(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    user = await make_user()
    session = await create_session(client, user)
    cancelled = await client.post(f"/sessions/{session['id']}/cancel", headers=user.headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancelled_at"] is not None
    # Cancelling twice is a no-op; cancelled sessions cannot be joined.
    assert (await client.post(f"/sessions/{session['id']}/cancel", headers=user.headers)).status_code == 200
    assert_problem(
        await client.post("/livekit/token", json={"session_id": session["id"]}, headers=user.headers), 409
    )


async def test_empty_transcript(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    user = await make_user()
    session = await create_session(client, user)
    response = await client.get(f"/sessions/{session['id']}/transcript", headers=user.headers)
    assert response.status_code == 200
    assert response.json() == {"session_id": session["id"], "status": "created", "segments": []}


async def test_cancel_after_the_interview_completed_elsewhere_is_refused(
    client: AsyncTestClient[Litestar], make_user: MakeUser, db_session: AsyncSession
) -> None:
    """The cancel reads the session, then locks it; a completion committed in between must win (409),
    not be overwritten by a status the request read before the lock."""
    user = await make_user()
    created = await create_session(client, user)
    session_id = uuid.UUID(created["id"])
    sessions = InterviewSessionService(session=db_session)
    before = await db_session.get(m.InterviewSession, session_id)
    assert before is not None
    assert before.status == m.SessionStatus.CREATED

    async with get_alchemy_config().get_session() as other:
        row = await other.get(m.InterviewSession, session_id)
        assert row is not None
        row.status = m.SessionStatus.COMPLETED
        await other.commit()

    locked = await sessions.lock(session_id)
    assert locked is before  # same identity, refreshed under the lock
    assert locked.status == m.SessionStatus.COMPLETED
    await db_session.rollback()
    refused = await client.post(f"/sessions/{created['id']}/cancel", headers=user.headers)
    assert_problem(refused, 409)


async def test_an_unsupported_language_is_refused_with_the_supported_ones(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    user = await make_user()
    refused = await client.post("/sessions", json={**SESSION_BODY, "language": "fr"}, headers=user.headers)
    body = assert_problem(refused, 400)
    # The refusal names the field and the pattern of accepted languages (en, en-XX), as the schema does.
    assert body["extra"] == [
        {
            "message": f"Expected `str` matching regex {LANGUAGE_PATTERN!r}",
            "key": "language",
            "source": "body",
        }
    ], body
    accepted = await client.post(
        "/sessions", json={**SESSION_BODY, "language": "en-GB"}, headers=user.headers
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["language"] == "en-GB"
