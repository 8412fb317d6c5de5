from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from control_plane.db import models as m
from tests.conftest import MakeUser
from tests.control_plane.helpers import assert_problem, create_session
from tests.control_plane.summary_queue import summary_job_exists


def segment(seq: int, speaker: str = "candidate", text: str = "I would use a queue") -> dict[str, Any]:
    return {"seq": seq, "speaker": speaker, "text": text, "start_ms": seq * 1000, "end_ms": seq * 1000 + 900}


async def test_agent_lifecycle_live_transcript_complete(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    service_headers: dict[str, str],
    db_session: AsyncSession,
    redis: Redis,
) -> None:
    user = await make_user()
    session = await create_session(client, user)
    base = f"/internal/sessions/{session['id']}"

    live = await client.post(f"{base}/live", headers=service_headers)
    assert live.status_code == 200, live.text
    assert live.json()["status"] == "live"
    assert (await client.post(f"{base}/live", headers=service_headers)).status_code == 200  # retried: no-op

    batch = {"segments": [segment(0, "agent", "Welcome. Ready?"), segment(1, text="Yes, ready.")]}
    first = await client.post(f"{base}/transcript", json=batch, headers=service_headers)
    assert first.json() == {"stored": 2}
    retried = await client.post(f"{base}/transcript", json=batch, headers=service_headers)
    assert retried.json() == {"stored": 0}
    more = {
        "segments": [segment(1, text="a different text for the same seq"), segment(2, "agent", "Thanks.")]
    }
    assert (await client.post(f"{base}/transcript", json=more, headers=service_headers)).json() == {
        "stored": 1
    }

    transcript = (await client.get(f"/sessions/{session['id']}/transcript", headers=user.headers)).json()
    assert [(s["seq"], s["speaker"], s["text"]) for s in transcript["segments"]] == [
        (0, "agent", "Welcome. Ready?"),
        (1, "candidate", "Yes, ready."),
        (2, "agent", "Thanks."),
    ]

    done = await client.post(f"{base}/complete", headers=service_headers)
    assert done.status_code == 200
    assert done.json()["status"] == "completed"
    assert (await client.post(f"{base}/complete", headers=service_headers)).status_code == 200
    summary = (
        await db_session.execute(select(m.Summary).where(m.Summary.session_id == uuid.UUID(session["id"])))
    ).scalar_one()
    assert summary.status in {"pending", "running", "done"}
    assert await summary_job_exists(redis, session["id"])

    # A finished session cannot go back, nor be failed afterwards.
    assert_problem(await client.post(f"{base}/live", headers=service_headers), 409)
    assert_problem(await client.post(f"{base}/fail", json={"reason": "late"}, headers=service_headers), 409)


async def test_fail_keeps_reason_and_finished_turns(
    client: AsyncTestClient[Litestar], make_user: MakeUser, service_headers: dict[str, str]
) -> None:
    user = await make_user()
    session = await create_session(client, user)
    base = f"/internal/sessions/{session['id']}"
    await client.post(f"{base}/live", headers=service_headers)
    await client.post(f"{base}/transcript", json={"segments": [segment(0)]}, headers=service_headers)
    failed = await client.post(f"{base}/fail", json={"reason": "agent job crashed"}, headers=service_headers)
    assert failed.json()["status"] == "failed"
    got = (await client.get(f"/sessions/{session['id']}", headers=user.headers)).json()
    assert got["failure_reason"] == "agent job crashed"
    # Late turns flushed by a dying agent are still kept.
    late = await client.post(f"{base}/transcript", json={"segments": [segment(1)]}, headers=service_headers)
    assert late.json() == {"stored": 1}


async def test_internal_api_refuses_user_tokens_and_bad_input(
    client: AsyncTestClient[Litestar], make_user: MakeUser, service_headers: dict[str, str]
) -> None:
    user = await make_user()
    session = await create_session(client, user)
    base = f"/internal/sessions/{session['id']}"
    assert_problem(await client.post(f"{base}/live", headers=user.headers), 401)
    assert_problem(await client.post(f"{base}/live"), 401)
    assert_problem(await client.post(f"{base}/live", headers={"Authorization": "Bearer wrong"}), 401)
    assert_problem(await client.post(f"/internal/sessions/{uuid.uuid4()}/live", headers=service_headers), 404)

    bad_batches: list[Any] = [
        {"segments": []},
        {"segments": [{**segment(0), "speaker": "narrator"}]},
        {"segments": [{**segment(0), "seq": -1}]},
        {"segments": [{**segment(0), "start_ms": 500, "end_ms": 100}]},
        {"segments": [{"seq": 0, "speaker": "agent"}]},
        {"segments": "nope"},
    ]
    for batch in bad_batches:
        assert_problem(await client.post(f"{base}/transcript", json=batch, headers=service_headers), 400)
    assert_problem(await client.post(f"{base}/fail", json={}, headers=service_headers), 400)
    transcript = (await client.get(f"/sessions/{session['id']}/transcript", headers=user.headers)).json()
    assert transcript["segments"] == []
    assert transcript["status"] == "created"


async def test_cancelled_session_refuses_transcript(
    client: AsyncTestClient[Litestar], make_user: MakeUser, service_headers: dict[str, str]
) -> None:
    user = await make_user()
    session = await create_session(client, user)
    await client.post(f"/sessions/{session['id']}/cancel", headers=user.headers)
    response = await client.post(
        f"/internal/sessions/{session['id']}/transcript",
        json={"segments": [segment(0)]},
        headers=service_headers,
    )
    assert_problem(response, 409)
