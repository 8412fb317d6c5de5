from __future__ import annotations

from datetime import datetime

from advanced_alchemy.base import UUIDBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import String, func
from sqlalchemy.orm import Mapped, mapped_column


class WebhookEvent(UUIDBase):
    """LiveKit webhook deliveries already applied; the unique event id makes redelivery a no-op."""

    __tablename__ = "webhook_events"

    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(48))
    room_name: Mapped[str | None] = mapped_column(String(96), default=None)
    received_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), server_default=func.now())
