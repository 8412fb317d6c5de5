"""Who may see which session: owners see their own, recruiters and admins see all.
Someone else's session answers 404, so its existence is not revealed."""

from __future__ import annotations

from uuid import UUID

from litestar.exceptions import NotFoundException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from control_plane.db import models as m


async def get_visible_session(db: AsyncSession, user: m.User, session_id: UUID) -> m.InterviewSession:
    session = await db.get(m.InterviewSession, session_id)
    if session is None or not (user.can_see_all_sessions or session.owner_id == user.id):
        raise NotFoundException(detail="Interview session not found")
    return session


async def get_own_session(db: AsyncSession, user: m.User, session_id: UUID) -> m.InterviewSession:
    """Only the owner: joining a room or cancelling is the candidate's own act."""
    session = await db.get(m.InterviewSession, session_id)
    if session is None or session.owner_id != user.id:
        raise NotFoundException(detail="Interview session not found")
    return session


async def get_own_session_by_room(db: AsyncSession, user: m.User, room_name: str) -> m.InterviewSession:
    """The owner's session whose LiveKit room is `room_name` (LiveKit's clients name rooms, not ids)."""
    session = await db.scalar(select(m.InterviewSession).where(m.InterviewSession.room_name == room_name))
    if session is None or session.owner_id != user.id:
        raise NotFoundException(detail="Interview session not found")
    return session
