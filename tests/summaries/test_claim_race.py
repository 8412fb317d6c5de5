"""A summary job that starts while the enqueuing transaction is still open must still claim its row, however
the commit falls between its claiming UPDATE and its look at the row (real Postgres, READ COMMITTED: each
statement sees the rows committed before it began)."""

from __future__ import annotations

import asyncio
import random

from sqlalchemy import delete

from control_plane.db import models as m
from control_plane.domain.summaries.jobs import SummaryRuntime, _claim
from control_plane.domain.summaries.services import SummaryService
from control_plane.lib.db import get_alchemy_config
from control_plane.settings import get_settings
from tests.summaries.interviews import create_interview


async def test_a_row_committed_while_the_job_looks_for_it_is_always_claimed(database_url: str) -> None:
    """Found over WebRTC: the commit landed between the UPDATE (row not visible yet) and the SELECT (row
    visible, pending), the job took it for a finished summary and gave up; the scorecard then waited for the
    reconciler (15 minutes by default). Commits at random moments across the job's polling cycle."""
    runtime = SummaryRuntime(settings=get_settings(), db=get_alchemy_config(), writer=None)
    rng = random.Random(7)
    missed: list[int] = []
    for attempt in range(150):
        session_id, _ = await create_interview()
        async with get_alchemy_config().get_session() as db:
            await SummaryService(session=db).ensure_pending(session_id)
            claiming = asyncio.create_task(_claim(runtime, session_id))
            await asyncio.sleep(rng.uniform(0, 0.06))
            await db.commit()
        if await claiming is None:
            missed.append(attempt)
        # Leave no claimed row behind: the summary workers' reconciler in later tests would re-run it.
        async with get_alchemy_config().get_session() as db:
            await db.execute(delete(m.InterviewSession).where(m.InterviewSession.id == session_id))
            await db.commit()
    assert missed == []
