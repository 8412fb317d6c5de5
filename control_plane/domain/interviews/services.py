from __future__ import annotations

import secrets
from collections.abc import Sequence
from uuid import UUID

from advanced_alchemy.extensions.litestar import repository, service
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.dialects.postgresql import insert

from control_plane.db import models as m
from control_plane.domain.interviews.schemas import SessionCreate, SessionFilters


class InterviewSessionService(service.SQLAlchemyAsyncRepositoryService[m.InterviewSession]):
    class Repo(repository.SQLAlchemyAsyncRepository[m.InterviewSession]):
        model_type = m.InterviewSession

    repository_type = Repo

    async def open(self, owner: m.User, data: SessionCreate) -> m.InterviewSession:
        return await self.create(
            m.InterviewSession(
                owner_id=owner.id,
                role_title=data.role_title.strip(),
                seniority=data.seniority,
                topics=[topic.strip() for topic in data.topics],
                language=data.language,
                planned_duration_minutes=data.planned_duration_minutes,
                room_name=f"interview-{secrets.token_hex(8)}",
                status=m.SessionStatus.CREATED.value,
            )
        )

    async def page_for(
        self, user: m.User, *, page: int, page_size: int, filters: SessionFilters | None = None
    ) -> tuple[list[tuple[m.InterviewSession, str | None]], int]:
        """One page of the sessions `user` may see, newest first, each with its scorecard's recommendation
        (None until an LLM scorecard exists), and the total that match `filters`."""
        recommendation = m.Summary.scorecard["recommendation"].astext
        conditions: list[ColumnElement[bool]] = []
        if not user.can_see_all_sessions:
            conditions.append(m.InterviewSession.owner_id == user.id)
        if filters is not None:
            if filters.status is not None:
                conditions.append(m.InterviewSession.status == filters.status)
            if filters.role:
                escaped = filters.role.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                conditions.append(m.InterviewSession.role_title.ilike(f"%{escaped}%", escape="\\"))
            if filters.recommendation is not None:
                conditions.append(recommendation == filters.recommendation)
            if filters.created_after is not None:
                conditions.append(m.InterviewSession.created_at >= filters.created_after)
            if filters.created_before is not None:
                conditions.append(m.InterviewSession.created_at < filters.created_before)
        joined = select(m.InterviewSession, recommendation).outerjoin(
            m.Summary, m.Summary.session_id == m.InterviewSession.id
        )
        db = self.repository.session
        total = int(
            (
                await db.execute(
                    select(func.count())
                    .select_from(m.InterviewSession)
                    .outerjoin(m.Summary, m.Summary.session_id == m.InterviewSession.id)
                    .where(*conditions)
                )
            ).scalar_one()
        )
        rows = await db.execute(
            joined.where(*conditions)
            .order_by(m.InterviewSession.created_at.desc(), m.InterviewSession.id)
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
        return [(session, rec) for session, rec in rows.tuples()], total

    async def save(self) -> None:
        """Write the changed rows now: a database refusal then fails this request, instead of a commit
        that fails after a success response has gone out (the commit runs as the response is sent)."""
        await self.repository.session.flush()

    async def lock(self, session_id: UUID) -> m.InterviewSession | None:
        """The session row, locked for this transaction so concurrent transitions serialize.

        populate_existing: the request may have loaded the row before taking the lock, and the identity
        map would otherwise hand back that older status instead of the one the lock waited for.
        """
        result = await self.repository.session.execute(
            select(m.InterviewSession)
            .where(m.InterviewSession.id == session_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        session: m.InterviewSession | None = result.scalar_one_or_none()
        return session


class TranscriptService(service.SQLAlchemyAsyncRepositoryService[m.TranscriptSegment]):
    class Repo(repository.SQLAlchemyAsyncRepository[m.TranscriptSegment]):
        model_type = m.TranscriptSegment

    repository_type = Repo

    async def append(self, session_id: UUID, segments: Sequence[dict[str, object]]) -> int:
        """Insert segments; a (session, seq) already stored is skipped, so retries are harmless."""
        if not segments:
            return 0
        statement = (
            insert(m.TranscriptSegment)
            .values([{"session_id": session_id, **segment} for segment in segments])
            .on_conflict_do_nothing(constraint="uq_transcript_segments_session_seq")
            .returning(m.TranscriptSegment.seq)
        )
        result = await self.repository.session.execute(statement)
        return len(result.all())

    async def for_session(self, session_id: UUID) -> list[m.TranscriptSegment]:
        rows = await self.repository.session.execute(
            select(m.TranscriptSegment)
            .where(m.TranscriptSegment.session_id == session_id)
            .order_by(m.TranscriptSegment.seq)
        )
        return list(rows.scalars())
