"""The control-plane client against the real control plane app (uvicorn on loopback, real Postgres)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from agent.control_plane_client import (
    ControlPlaneClient,
    ControlPlaneRejectedError,
    ControlPlaneUnavailableError,
    RetryPolicy,
    TranscriptSegment,
    TurnMetrics,
)
from agent.job import SessionReporter
from agent.transcript import TranscriptRecorder
from control_plane.settings import Settings
from tests.agent.conftest import LoopbackControlPlane, NewSession, free_port


async def _status(client: AsyncTestClient[Litestar], session_id: uuid.UUID, headers: dict[str, str]) -> str:
    response = await client.get(f"/sessions/{session_id}", headers=headers)
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


async def test_live_transcript_complete_round_trip(
    cp_client: ControlPlaneClient, new_session: NewSession, client: AsyncTestClient[Litestar]
) -> None:
    created = await new_session()
    session_id = created.session.session_id
    await cp_client.mark_live(session_id)
    assert await _status(client, session_id, created.owner_headers) == "live"

    segments = [
        TranscriptSegment(seq=0, speaker="agent", text="Hello, ready?", start_ms=0, end_ms=1500),
        TranscriptSegment(
            seq=1,
            speaker="candidate",
            text="Yes.",
            start_ms=1800,
            end_ms=2300,
            metrics=None,
        ),
        TranscriptSegment(
            seq=2,
            speaker="agent",
            text="Question one.",
            start_ms=2900,
            end_ms=4000,
            metrics=TurnMetrics(end_of_speech_to_first_audio_ms=640.0, llm_ttfb_ms=12.5),
        ),
    ]
    assert await cp_client.append_transcript(session_id, segments) == 3
    # Idempotent by sequence number: a resend stores nothing new.
    assert await cp_client.append_transcript(session_id, segments[1:]) == 0

    transcript = (
        await client.get(f"/sessions/{session_id}/transcript", headers=created.owner_headers)
    ).json()
    assert [(s["seq"], s["speaker"], s["text"]) for s in transcript["segments"]] == [
        (0, "agent", "Hello, ready?"),
        (1, "candidate", "Yes."),
        (2, "agent", "Question one."),
    ]
    assert transcript["segments"][2]["metrics"]["end_of_speech_to_first_audio_ms"] == 640.0

    await cp_client.complete(session_id, end_reason="time_up")
    assert await _status(client, session_id, created.owner_headers) == "completed"
    stored = (await client.get(f"/sessions/{session_id}", headers=created.owner_headers)).json()
    assert stored["end_reason"] == "time_up"


async def test_fail_reports_the_reason(
    cp_client: ControlPlaneClient, new_session: NewSession, client: AsyncTestClient[Litestar]
) -> None:
    created = await new_session()
    await cp_client.mark_live(created.session.session_id)
    await cp_client.fail(created.session.session_id, "speech service crashed")
    assert await _status(client, created.session.session_id, created.owner_headers) == "failed"


async def test_unknown_session_is_a_typed_rejection_without_retries(cp_client: ControlPlaneClient) -> None:
    with pytest.raises(ControlPlaneRejectedError) as caught:
        await cp_client.mark_live(uuid.uuid4())
    assert caught.value.status == 404
    assert caught.value.problem is not None
    assert caught.value.problem["status"] == 404


async def test_wrong_service_token_is_rejected(control_plane: LoopbackControlPlane) -> None:
    async with ControlPlaneClient(control_plane.base_url, "not-the-token") as bad:
        with pytest.raises(ControlPlaneRejectedError) as caught:
            await bad.mark_live(uuid.uuid4())
    assert caught.value.status in {401, 403}


async def test_retries_until_a_briefly_down_control_plane_is_back(
    new_session: NewSession, settings: object, client: AsyncTestClient[Litestar]
) -> None:
    """The client keeps trying with backoff while nothing listens, and succeeds once the server is up."""
    created = await new_session()
    second = LoopbackControlPlane()  # a second real instance on a fresh port, not started yet
    from control_plane.settings import get_settings

    async with ControlPlaneClient(
        second.base_url,
        get_settings().auth.agent_service_token,
        retry=RetryPolicy(max_attempts=40, base_delay_s=0.05, max_delay_s=0.2),
    ) as cp:
        call = asyncio.create_task(cp.mark_live(created.session.session_id))
        await asyncio.sleep(0.6)
        assert not call.done()  # still retrying against a closed port
        await second.start()
        try:
            await asyncio.wait_for(call, 15)
        finally:
            await second.stop()
    assert await _status(client, created.session.session_id, created.owner_headers) == "live"


async def test_gives_up_with_a_typed_error_when_nothing_listens() -> None:
    async with ControlPlaneClient(
        f"http://127.0.0.1:{free_port()}",
        "token",
        retry=RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02),
    ) as cp:
        with pytest.raises(ControlPlaneUnavailableError, match="after 3 attempts"):
            await cp.complete(uuid.uuid4())


class CountingTransport(httpx.AsyncHTTPTransport):
    """The real HTTP transport, counting the requests that reach the wire."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await super().handle_async_request(request)


async def test_a_cancelled_session_is_final_at_once_and_ends_the_report_quietly(
    control_plane: LoopbackControlPlane,
    settings: Settings,
    new_session: NewSession,
    client: AsyncTestClient[Litestar],
) -> None:
    """409 means the session is already final: retrying cannot change it, so the client does not."""
    created = await new_session()
    session_id = created.session.session_id
    cancel = await client.post(f"/sessions/{session_id}/cancel", headers=created.owner_headers)
    assert cancel.status_code == 200, cancel.text
    wire = CountingTransport()
    async with ControlPlaneClient(
        control_plane.base_url,
        settings.auth.agent_service_token,
        retry=RetryPolicy(max_attempts=5, base_delay_s=0.05, max_delay_s=0.1),
        transport=wire,
    ) as cp:
        with pytest.raises(ControlPlaneRejectedError) as caught:
            await cp.mark_live(session_id)
        assert caught.value.status == 409
        assert caught.value.session_is_final
        assert wire.paths == [f"/internal/sessions/{session_id}/live"]

        # The job's end-of-interview report accepts the control plane's verdict instead of failing.
        reporter = SessionReporter(cp, TranscriptRecorder(cp, session_id), session_id)
        await reporter.complete()
        assert reporter.completed
        assert wire.paths[1:] == [f"/internal/sessions/{session_id}/complete"]
    assert await _status(client, session_id, created.owner_headers) == "cancelled"
