"""Interviews with transcripts, written straight to Postgres the way the agent's appends leave them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from sqlalchemy import select

from control_plane.db import models as m
from control_plane.lib.db import get_alchemy_config

# An interview where the agent asks a question from the bank (agent/question_bank.yaml) word for word.
BANK_QUESTION_ID = "py-gil-concurrency"
INTERVIEW = (
    ("agent", "How do you choose between threads, processes and asyncio for concurrent work in Python?"),
    (
        "candidate",
        "For network-bound work I reach for asyncio, because one event loop can wait on thousands of "
        "sockets. CPU-heavy work goes to a process pool, since the GIL keeps threads from running bytecode "
        "in parallel.",
    ),
    ("agent", "How would you find out why a Postgres query got slow?"),
    (
        "candidate",
        "I run explain analyze on it, look for sequential scans on large tables, and add an index on the "
        "columns the query filters on.",
    ),
    ("agent", "Thanks, that is all from me."),
    ("candidate", "Thank you, I enjoyed the conversation."),
)


async def create_interview(
    turns: Sequence[tuple[str, str]] = INTERVIEW,
    *,
    owner_id: uuid.UUID | None = None,
    topics: Sequence[str] = ("python", "databases"),
) -> tuple[uuid.UUID, str]:
    """A completed session with its transcript; returns its id and a tag that appears in every prompt
    about it (the role title), so the LLM double can tell sessions apart."""
    tag = uuid.uuid4().hex[:12]
    async with get_alchemy_config().get_session() as db:
        if owner_id is None:
            owner = m.User(
                email=f"owner-{tag}@example.com",
                display_name="Owner",
                password_hash="unused",
                role="candidate",
            )
            db.add(owner)
            await db.flush()
            owner_id = owner.id
        session = m.InterviewSession(
            owner_id=owner_id,
            role_title=f"Backend Engineer {tag}",
            seniority="senior",
            topics=list(topics),
            planned_duration_minutes=20,
            room_name=f"interview-{tag}",
            status=m.SessionStatus.COMPLETED.value,
        )
        db.add(session)
        await db.flush()
        clock = 0
        for seq, (speaker, text) in enumerate(turns):
            duration = 1000 + 60 * len(text)
            db.add(
                m.TranscriptSegment(
                    session_id=session.id,
                    seq=seq,
                    speaker=speaker,
                    text=text,
                    start_ms=clock,
                    end_ms=clock + duration,
                )
            )
            clock += duration + 500
        await db.commit()
        return session.id, tag


async def read_summary(session_id: uuid.UUID) -> m.Summary | None:
    async with get_alchemy_config().get_session() as db:
        result = await db.execute(select(m.Summary).where(m.Summary.session_id == session_id))
        summary: m.Summary | None = result.scalar_one_or_none()
        return summary


async def wait_for_summary(
    session_id: uuid.UUID, *statuses: m.SummaryStatus, timeout_s: float = 120.0
) -> m.Summary:
    """Poll Postgres until the summary reaches one of `statuses` (a bound, not a timing assertion)."""
    wanted = {s.value for s in statuses}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        summary = await read_summary(session_id)
        if summary is not None and summary.status in wanted:
            return summary
        if loop.time() > deadline:
            state = None if summary is None else (summary.status, summary.attempts, summary.last_error)
            raise AssertionError(f"summary of {session_id} never reached {sorted(wanted)}; last seen {state}")
        await asyncio.sleep(0.1)
