from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.core.timestamps import utcnow
from boxoffice.db.base import Base, IdMixin


class ProviderEvent(IdMixin, Base):
    """A webhook event already handled. The unique (provider, event_id) row, inserted in the
    same transaction as the event's effects, is what makes a replay a no-op."""

    __tablename__ = "payment_provider_events"
    __table_args__ = (
        UniqueConstraint(
            "provider", "event_id", name="uq_payment_provider_events_provider_event_id"
        ),
    )

    provider: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
