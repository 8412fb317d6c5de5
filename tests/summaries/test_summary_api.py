"""GET /sessions/{id}/summary and POST .../summary/retry: who may see and retry what; the SAQ UI is
for admins. The retry test runs a real worker on the app's own queue."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from saq import Queue

from control_plane.db import models as m
from control_plane.domain.summaries.queue import summary_queue_name
from control_plane.settings import get_settings
from tests.conftest import TEST_ENV, MakeUser
from tests.control_plane.helpers import assert_problem
from tests.summaries.conftest import WorkerProcesses
from tests.summaries.interviews import create_interview, wait_for_summary
from tests.summaries.llm_double import HTTPFailure, OpenAICompatibleLLMDouble, honest_answer
from tests.summaries.test_scorecard_jobs import request_summary

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def app_queue() -> AsyncIterator[Queue]:
    """The queue the app's retry endpoint enqueues on."""
    queue = Queue.from_url(get_settings().redis.url, name=summary_queue_name())
    await queue.connect()
    yield queue
    await queue.disconnect()


def summary_url(session_id: uuid.UUID) -> str:
    return f"/sessions/{session_id}/summary"


async def test_summary_is_visible_to_its_owner_and_staff_only(
    client: Client, make_user: MakeUser, summary_queue: Queue
) -> None:
    owner = await make_user("candidate")
    stranger = await make_user("candidate")
    recruiter = await make_user("recruiter")
    admin = await make_user("admin")
    session_id, _ = await create_interview(owner_id=owner.id)

    assert_problem(await client.get(summary_url(session_id), headers=owner.headers), 404)
    await request_summary(summary_queue, session_id)

    for user in (owner, recruiter, admin):
        response = await client.get(summary_url(session_id), headers=user.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["session_id"] == str(session_id)
        assert body["status"] == "pending"
        assert body["scorecard"] is None
    hidden = assert_problem(await client.get(summary_url(session_id), headers=stranger.headers), 404)
    assert hidden["detail"] == "Interview session not found"
    assert (await client.get(summary_url(session_id))).status_code == 401
    assert_problem(await client.get(summary_url(uuid.uuid4()), headers=admin.headers), 404)


async def test_retry_is_for_staff_and_only_for_failed_or_stuck_summaries(
    client: Client, make_user: MakeUser, summary_queue: Queue
) -> None:
    owner = await make_user("candidate")
    recruiter = await make_user("recruiter")
    session_id, _ = await create_interview(owner_id=owner.id)
    await request_summary(summary_queue, session_id)

    denied = assert_problem(await client.post(f"{summary_url(session_id)}/retry", headers=owner.headers), 403)
    assert "Recruiter or admin" in denied["detail"]
    # Pending and recently queued: nothing to retry yet.
    conflict = assert_problem(
        await client.post(f"{summary_url(session_id)}/retry", headers=recruiter.headers), 409
    )
    assert "pending" in conflict["detail"]
    other_session, _ = await create_interview(owner_id=owner.id)
    assert_problem(await client.post(f"{summary_url(other_session)}/retry", headers=recruiter.headers), 404)


async def test_saq_web_ui_is_for_admins_only(client: Client, make_user: MakeUser) -> None:
    for role in ("candidate", "recruiter"):
        user = await make_user(role)
        assert_problem(await client.get("/saq/api/queues", headers=user.headers), 403)
    admin = await make_user("admin")
    response = await client.get("/saq/api/queues", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert summary_queue_name() in [queue["name"] for queue in response.json()["queues"]]
    assert (await client.get("/saq/api/queues")).status_code == 401


async def test_summary_failing_three_times_is_failed_then_retried_by_a_recruiter(
    client: Client,
    make_user: MakeUser,
    app_queue: Queue,
    workers: WorkerProcesses,
    llm_double: OpenAICompatibleLLMDouble,
) -> None:
    owner = await make_user("candidate")
    recruiter = await make_user("recruiter")
    session_id, tag = await create_interview(owner_id=owner.id)
    llm_double.responder = lambda request: HTTPFailure(503, "model overloaded")
    workers.start(CODEVOICE_QUEUE=TEST_ENV["CODEVOICE_QUEUE"])

    await request_summary(app_queue, session_id)
    failed = await wait_for_summary(session_id, m.SummaryStatus.FAILED, m.SummaryStatus.DONE)
    assert failed.status == m.SummaryStatus.FAILED, workers.logs()
    assert failed.attempts == 3
    assert failed.last_error is not None
    assert "attempt 3" in failed.last_error
    assert "model overloaded" in failed.last_error
    assert len(llm_double.requests_for(tag)) == 3

    seen_by_owner = (await client.get(summary_url(session_id), headers=owner.headers)).json()
    assert seen_by_owner["status"] == "failed"
    assert seen_by_owner["last_error"] is None
    seen_by_staff = (await client.get(summary_url(session_id), headers=recruiter.headers)).json()
    assert seen_by_staff["status"] == "failed"
    assert "model overloaded" in seen_by_staff["last_error"]
    assert_problem(await client.post(f"{summary_url(session_id)}/retry", headers=owner.headers), 403)

    llm_double.responder = honest_answer
    retried = await client.post(f"{summary_url(session_id)}/retry", headers=recruiter.headers)
    assert retried.status_code == 202, retried.text
    assert retried.json()["status"] == "pending"
    assert retried.json()["attempts"] == 0

    done = await wait_for_summary(session_id, m.SummaryStatus.DONE, m.SummaryStatus.FAILED)
    assert done.status == m.SummaryStatus.DONE, workers.logs()
    assert done.attempts == 1
    shown = (await client.get(summary_url(session_id), headers=owner.headers)).json()
    assert shown["status"] == "done"
    assert shown["scorecard"]["kind"] == "llm_scorecard"
    assert len(llm_double.requests_for(tag)) == 4
