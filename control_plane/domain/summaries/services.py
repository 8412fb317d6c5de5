"""Summary rows and their status transitions: pending -> running -> done | failed.

Postgres is the source of truth. A run claims the row by stamping `started_at`; that stamp is its lease,
and only the run holding it may finish the row, so a run that was given up on (its worker presumed dead)
can never overwrite the work of the run that replaced it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.extensions.litestar import repository, service
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from control_plane.db import models as m

S = m.SummaryStatus
# Rows a run may claim. Running is included because SAQ only hands out a job again once it has given up on
# the previous run (heartbeat lost, timeout), so that run's claim is void.
CLAIMABLE = (S.PENDING.value, S.RUNNING.value)
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Claim:
    summary_id: UUID
    session_id: UUID
    lease: datetime
    attempts: int


def _now() -> datetime:
    return datetime.now(UTC)


class SummaryService(service.SQLAlchemyAsyncRepositoryService[m.Summary]):
    class Repo(repository.SQLAlchemyAsyncRepository[m.Summary]):
        model_type = m.Summary

    repository_type = Repo

    async def for_session(self, session_id: UUID) -> m.Summary | None:
        result = await self.repository.session.execute(
            select(m.Summary).where(m.Summary.session_id == session_id)
        )
        summary: m.Summary | None = result.scalar_one_or_none()
        return summary

    async def ensure_pending(self, session_id: UUID) -> m.Summary:
        """The session's summary row, created as pending if missing (a concurrent caller's row wins).
        A pending or running row is marked as just enqueued; done and failed rows are left as they are."""
        db = self.repository.session
        now = _now()
        await db.execute(
            insert(m.Summary)
            .values(session_id=session_id, status=S.PENDING.value, attempts=0, enqueued_at=now)
            .on_conflict_do_nothing(index_elements=[m.Summary.session_id])
        )
        await db.execute(
            update(m.Summary)
            .where(m.Summary.session_id == session_id, m.Summary.status == S.PENDING.value)
            .values(enqueued_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        summary = await self.for_session(session_id)
        assert summary is not None  # inserted or already present in this transaction
        await db.refresh(summary)
        return summary

    async def claim(self, session_id: UUID) -> Claim | None:
        now = _now()
        result = await self.repository.session.execute(
            update(m.Summary)
            .where(m.Summary.session_id == session_id, m.Summary.status.in_(CLAIMABLE))
            .values(
                status=S.RUNNING.value,
                attempts=m.Summary.attempts + 1,
                started_at=now,
                finished_at=None,
                updated_at=now,
            )
            .returning(m.Summary.id, m.Summary.attempts)
            .execution_options(synchronize_session=False)
        )
        row = result.one_or_none()
        if row is None:
            return None
        return Claim(summary_id=row.id, session_id=session_id, lease=now, attempts=row.attempts)

    async def complete(self, claim: Claim, scorecard: dict[str, Any], model: str | None) -> bool:
        """Store the scorecard; False if the claim was lost to a newer run."""
        now = _now()
        return await self._finish_claim(
            claim, status=S.DONE.value, scorecard=scorecard, model=model, finished_at=now, updated_at=now
        )

    async def record_failure(self, claim: Claim, error: str, *, final: bool) -> bool:
        """Keep the error; the row waits for SAQ's retry (pending) or, after the last attempt, fails."""
        now = _now()
        return await self._finish_claim(
            claim,
            status=S.FAILED.value if final else S.PENDING.value,
            last_error=error[:MAX_ERROR_CHARS],
            finished_at=now if final else None,
            updated_at=now,
        )

    async def _finish_claim(self, claim: Claim, **values: Any) -> bool:
        result = await self.repository.session.execute(
            update(m.Summary)
            .where(
                m.Summary.id == claim.summary_id,
                m.Summary.status == S.RUNNING.value,
                m.Summary.started_at == claim.lease,
            )
            .values(**values)
            .returning(m.Summary.id)
            .execution_options(synchronize_session=False)
        )
        return result.one_or_none() is not None

    async def list_stale(self, older_than: datetime, limit: int = 500) -> Sequence[m.Summary]:
        """Pending rows enqueued, and running rows started, before `older_than`: their job may be lost."""
        result = await self.repository.session.execute(
            select(m.Summary)
            .where(
                or_(
                    (m.Summary.status == S.PENDING.value)
                    & (func.coalesce(m.Summary.enqueued_at, m.Summary.created_at) < older_than),
                    (m.Summary.status == S.RUNNING.value) & (m.Summary.started_at < older_than),
                )
            )
            .order_by(m.Summary.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows: Sequence[m.Summary] = result.scalars().all()
        return rows

    def mark_requeued(self, summary: m.Summary) -> None:
        summary.enqueued_at = _now()

    def give_up(self, summary: m.Summary, reason: str) -> None:
        summary.status = S.FAILED.value
        summary.last_error = reason[:MAX_ERROR_CHARS]
        summary.finished_at = _now()

    def reset_for_retry(self, summary: m.Summary) -> None:
        """A fresh round of attempts; the previous error stays visible until the next run."""
        summary.status = S.PENDING.value
        summary.attempts = 0
        summary.enqueued_at = _now()
        summary.started_at = None
        summary.finished_at = None

    @staticmethod
    def is_stale(summary: m.Summary, older_than: datetime) -> bool:
        if summary.status == S.PENDING.value:
            since = summary.enqueued_at or summary.created_at
        elif summary.status == S.RUNNING.value:
            since = summary.started_at or summary.created_at
        else:
            return False
        return since < older_than
