"""What recruiters and admins see: everyone's sessions filtered and paged, the rooms live now on the real
livekit-server (with participants and the interviewer's state), and ending a live interview."""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from livekit import api
from livekit.protocol import room as room_pb
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from control_plane.db import models as m
from tests.conftest import MakeUser
from tests.control_plane.conftest import use_livekit
from tests.control_plane.helpers import assert_problem, create_session
from tests.control_plane.processes import free_port
from tests.support.netns import NetnsLiveKit

ROOM_MEMBER = Path(__file__).parents[1] / "agent" / "clients" / "room_member.py"


async def _finish(db: AsyncSession, session_id: str, status: str, recommendation: str | None) -> None:
    await db.execute(
        update(m.InterviewSession).where(m.InterviewSession.id == UUID(session_id)).values(status=status)
    )
    if recommendation is not None:
        db.add(
            m.Summary(
                session_id=UUID(session_id),
                status="done",
                scorecard={"kind": "llm_scorecard", "recommendation": recommendation},
            )
        )
    await db.commit()


async def test_lists_filter_by_status_role_recommendation_and_date(
    client: AsyncTestClient[Litestar], make_user: MakeUser, db_session: AsyncSession
) -> None:
    alice, bob, recruiter = await make_user(), await make_user(), await make_user(role="recruiter")
    tag = alice.email.split("@")[0][-6:]  # keeps this test's sessions apart from other tests'
    a1 = await create_session(client, alice, role_title=f"Backend Engineer {tag}")
    a2 = await create_session(client, alice, role_title=f"Data Engineer {tag}")
    b1 = await create_session(client, bob, role_title=f"Backend_Lead {tag}")
    await _finish(db_session, a1["id"], "completed", "yes")
    await _finish(db_session, b1["id"], "completed", "no")

    async def ids(user: Any, **query: str) -> list[str]:
        response = await client.get("/sessions", params={"page_size": "100", **query}, headers=user.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    # candidates see only their own, whatever they filter by
    assert set(await ids(alice, role=tag)) == {a1["id"], a2["id"]}
    assert await ids(bob, role=tag, recommendation="yes") == []
    # recruiters see everyone's
    assert set(await ids(recruiter, role=tag)) == {a1["id"], a2["id"], b1["id"]}
    assert set(await ids(recruiter, role=f"backend%{tag}")) == set()  # % is a character, not a wildcard
    assert set(await ids(recruiter, role=f"Backend_Lead {tag}")) == {b1["id"]}
    assert set(await ids(recruiter, role=tag, status="completed")) == {a1["id"], b1["id"]}
    assert await ids(recruiter, role=tag, recommendation="yes") == [a1["id"]]
    listed = (await client.get("/sessions", params={"role": tag}, headers=recruiter.headers)).json()["items"]
    assert {item["id"]: item["recommendation"] for item in listed} == {
        a1["id"]: "yes",
        a2["id"]: None,
        b1["id"]: "no",
    }
    future = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)).isoformat()
    assert await ids(recruiter, role=tag, created_after=future) == []
    assert len(await ids(recruiter, role=tag, created_before=future)) == 3
    # paging: newest first, totals count the filtered set
    page = (
        await client.get(
            "/sessions", params={"role": tag, "page_size": "2", "page": "2"}, headers=recruiter.headers
        )
    ).json()
    assert (page["total"], [item["id"] for item in page["items"]]) == (3, [a1["id"]])

    for bad in (
        {"status": "paused"},
        {"recommendation": "maybe"},
        {"created_after": "yesterday"},
        {"created_before": "0.5"},  # not a Unix timestamp: date-times only
        {"created_after": "2026-11-29T10:00:00"},  # no offset
        {"role": ""},
    ):
        assert_problem(await client.get("/sessions", params=bad, headers=recruiter.headers), 400)


async def _participants(lk: api.LiveKitAPI, room: str) -> list[str]:
    try:
        listed = await lk.room.list_participants(room_pb.ListParticipantsRequest(room=room))
    except api.TwirpError:
        return []
    return sorted(p.identity for p in listed.participants if p.state == p.ACTIVE)


@pytest.mark.netns
@pytest.mark.slow
async def test_live_rooms_show_participants_and_agent_state_and_can_be_ended(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    livekit: NetnsLiveKit,
    service_headers: dict[str, str],
) -> None:
    candidate, recruiter = await make_user(), await make_user(role="recruiter")
    session = await create_session(client, candidate)
    room = session["room_name"]
    issued = await client.post("/livekit/token", json={"room_name": room}, headers=candidate.headers)
    assert issued.status_code == 201, issued.text
    # Stand-in for the interviewer's participant: an agent-kind token carrying the state attribute
    # the agent publishes (agent/livekit_conventions.py); what is tested here is the listing.
    agent_token = (
        api.AccessToken(livekit.api_key, livekit.api_secret)
        .with_identity("agent-stand-in")
        .with_kind("agent")
        .with_attributes({"lk.agent.state": "listening"})
        .with_grants(api.VideoGrants(room_join=True, room=room))
        .to_jwt()
    )
    members = [
        livekit.popen_python(ROOM_MEMBER, "--url", livekit.url, "--token", token, "--timeout", "60", *extra)
        for token, extra in ((issued.json()["participant_token"], ["--publish"]), (agent_token, []))
    ]
    async with api.LiveKitAPI(livekit.host_http_url, livekit.api_key, livekit.api_secret) as lk:
        for _ in range(300):
            if len(await _participants(lk, room)) == 2:
                break
            await asyncio.sleep(0.1)
        assert await _participants(lk, room) == sorted(["agent-stand-in", f"user-{candidate.id}"])

        assert_problem(await client.get("/rooms/live", headers=candidate.headers), 403)
        listed = await client.get("/rooms/live", headers=recruiter.headers)
        assert listed.status_code == 200, listed.text
        (live,) = [r for r in listed.json()["rooms"] if r["room_name"] == room]
        assert live["session_id"] == session["id"]
        assert live["candidate_name"] == "Test candidate"
        by_identity = {p["identity"]: p for p in live["participants"]}
        assert by_identity["agent-stand-in"]["kind"] == "agent"
        assert by_identity["agent-stand-in"]["agent_state"] == "listening"
        assert by_identity[f"user-{candidate.id}"]["kind"] == "standard"
        assert by_identity[f"user-{candidate.id}"]["agent_state"] is None

        # only a live session can be ended; the agent marks it live
        assert_problem(await client.post(f"/sessions/{session['id']}/end", headers=recruiter.headers), 409)
        marked = await client.post(f"/internal/sessions/{session['id']}/live", headers=service_headers)
        assert marked.status_code in (200, 204), marked.text
        ended = await client.post(f"/sessions/{session['id']}/end", headers=recruiter.headers)
        assert ended.status_code == 202, ended.text
        results = [(await asyncio.to_thread(livekit.wait, member, 30)).check().json for member in members]
        assert {result["disconnect_reason"] for result in results} == {"ROOM_DELETED"}
        listed_after = await client.get("/rooms/live", headers=recruiter.headers)
        assert [r for r in listed_after.json()["rooms"] if r["room_name"] == room] == []


async def test_without_livekit_live_rooms_and_end_say_503_and_change_nothing(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    monkeypatch: pytest.MonkeyPatch,
    service_headers: dict[str, str],
) -> None:
    candidate, admin = await make_user(), await make_user(role="admin")
    session = await create_session(client, candidate)
    await client.post(f"/internal/sessions/{session['id']}/live", headers=service_headers)
    use_livekit(monkeypatch, f"ws://127.0.0.1:{free_port()}")  # nothing listens there
    try:
        assert_problem(await client.get("/rooms/live", headers=admin.headers), 503)
        assert_problem(await client.post(f"/sessions/{session['id']}/end", headers=candidate.headers), 503)
    finally:
        monkeypatch.undo()
        from control_plane.settings import get_settings

        get_settings.cache_clear()
    stored = await client.get(f"/sessions/{session['id']}", headers=candidate.headers)
    assert stored.json()["status"] == "live"
