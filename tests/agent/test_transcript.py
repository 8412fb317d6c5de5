"""Transcript delivery: in order, retried while the control plane is down, and journaled so that a
crashed job's finished turns are replayed by the next job. Against the real control plane."""

from __future__ import annotations

import asyncio
from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient

from agent.control_plane_client import ControlPlaneClient, RetryPolicy
from agent.transcript import TranscriptRecorder
from agent.transcript_journal import TranscriptJournal, read_journal, replay_journals
from control_plane.settings import Settings
from tests.agent.conftest import LoopbackControlPlane, NewSession


async def stored_turns(
    client: AsyncTestClient[Litestar], created: object, expected: int, timeout: float = 15.0
) -> list[tuple[int, str, str]]:
    session_id = created.session.session_id  # type: ignore[attr-defined]
    headers = created.owner_headers  # type: ignore[attr-defined]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        segments = (await client.get(f"/sessions/{session_id}/transcript", headers=headers)).json()[
            "segments"
        ]
        if len(segments) >= expected or asyncio.get_running_loop().time() > deadline:
            return [(s["seq"], s["speaker"], s["text"]) for s in segments]
        await asyncio.sleep(0.1)


async def test_turns_recorded_while_the_control_plane_is_down_arrive_in_order_when_it_is_back(
    new_session: NewSession, settings: Settings, client: AsyncTestClient[Litestar]
) -> None:
    created = await new_session()
    plane = LoopbackControlPlane()  # not started yet: the control plane is down
    async with ControlPlaneClient(
        plane.base_url,
        settings.auth.agent_service_token,
        retry=RetryPolicy(max_attempts=3, base_delay_s=0.02, max_delay_s=0.05),
    ) as cp:
        recorder = TranscriptRecorder(cp, created.session.session_id, resend_pause_s=0.1)
        recorder.record("agent", "Hello, are you ready?", start_ms=0, end_ms=1000)
        recorder.record("candidate", "Yes.", start_ms=1200, end_ms=1500)
        recorder.record("candidate", "   ", start_ms=1600, end_ms=1700)  # blank: not a turn
        await asyncio.sleep(0.5)
        assert recorder.undelivered == 2
        recorder.record("agent", "Great, first question.", start_ms=1800, end_ms=3000)
        await plane.start()
        try:
            assert await recorder.flush(20)
        finally:
            await recorder.aclose()
            await plane.stop()
    assert await stored_turns(client, created, 3) == [
        (0, "agent", "Hello, are you ready?"),
        (1, "candidate", "Yes."),
        (2, "agent", "Great, first question."),
    ]


async def test_a_crashed_jobs_journal_is_replayed_by_the_next_job(
    new_session: NewSession,
    settings: Settings,
    cp_client: ControlPlaneClient,
    client: AsyncTestClient[Litestar],
    tmp_path: Path,
) -> None:
    created = await new_session()
    session_id = created.session.session_id
    plane = LoopbackControlPlane()
    await plane.start()
    journal = TranscriptJournal(tmp_path, session_id)
    async with ControlPlaneClient(
        plane.base_url,
        settings.auth.agent_service_token,
        retry=RetryPolicy(max_attempts=2, base_delay_s=0.02, max_delay_s=0.05),
    ) as cp:
        # The job delivers one turn; then the control plane goes away and two more turns finish.
        recorder = TranscriptRecorder(cp, session_id, journal=journal, resend_pause_s=60)
        recorder.record("agent", "Welcome to the interview.", start_ms=0, end_ms=900)
        assert await recorder.flush(10)
        await plane.stop()
        recorder.record("candidate", "Thanks, glad to be here.", start_ms=1000, end_ms=2000)
        recorder.record("agent", "First question.", start_ms=2100, end_ms=3000)
        await asyncio.sleep(0.3)
        assert recorder.undelivered == 2
        # The job process dies here: its file handle and lock go with it, the journal stays.
        await recorder.aclose()
        journal.close(delivered_all=False)
    with journal.path.open("ab") as torn:
        torn.write(b'{"seq": 3, "speaker": "cand')  # the crash hit mid-write
    assert [s.seq for s in read_journal(journal.path)] == [0, 1, 2]

    # The next job on this machine replays it; the already stored seq 0 is not stored twice.
    assert await replay_journals(tmp_path, cp_client) == 2
    assert not journal.path.exists()
    assert await stored_turns(client, created, 3) == [
        (0, "agent", "Welcome to the interview."),
        (1, "candidate", "Thanks, glad to be here."),
        (2, "agent", "First question."),
    ]


async def test_a_live_jobs_journal_is_not_replayed(cp_client: ControlPlaneClient, tmp_path: Path) -> None:
    import uuid

    journal = TranscriptJournal(tmp_path, uuid.uuid4())  # its job is still running and holds the lock
    try:
        assert await replay_journals(tmp_path, cp_client) == 0
        assert journal.path.exists()
    finally:
        journal.close(delivered_all=True)


async def test_a_journal_that_vanishes_after_the_listing_does_not_stop_the_replay(
    new_session: NewSession, cp_client: ControlPlaneClient, client: AsyncTestClient[Litestar], tmp_path: Path
) -> None:
    """A job that ends removes its journal; a replay running at that moment (a dead job's worker replays
    the spool at once) has listed the file already. It must skip it and still replay the others."""
    import uuid

    from agent.control_plane_client import TranscriptSegment

    created = await new_session()
    crashed = TranscriptJournal(tmp_path, created.session.session_id)
    crashed.append(TranscriptSegment(seq=0, speaker="agent", text="Welcome.", start_ms=0, end_ms=500))
    crashed.close(delivered_all=False)
    # Listed by the replay (it sorts first), gone when opened: a dangling link behaves exactly so.
    (tmp_path / f"{uuid.UUID(int=0)}.jsonl").symlink_to(tmp_path / "removed-when-its-job-ended.jsonl")

    assert await replay_journals(tmp_path, cp_client) == 1
    assert not crashed.path.exists()
    assert await stored_turns(client, created, 1) == [(0, "agent", "Welcome.")]
