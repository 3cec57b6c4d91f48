from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.db.base import Base, IdMixin, TimestampMixin


class TicketType(IdMixin, TimestampMixin, Base):
    """A kind of ticket with its own inventory counters.

    ``sold`` and ``held`` only ever change through single conditional UPDATE statements so that
    ``sold + held <= quantity`` holds under any concurrency (DESIGN.md invariant 1).
    """

    __tablename__ = "ticket_types"
    __table_args__ = (
        Index("ix_ticket_types_event_id_price_amount", "event_id", "price_amount"),
        CheckConstraint("price_amount >= 0", name="price_not_negative"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("sold >= 0 AND held >= 0", name="counters_not_negative"),
        CheckConstraint("sold + held <= quantity", name="no_oversell"),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    price_amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[int]
    sold: Mapped[int] = mapped_column(default=0)
    held: Mapped[int] = mapped_column(default=0)
    sales_start: Mapped[datetime | None]
    sales_end: Mapped[datetime | None]
    max_per_order: Mapped[int] = mapped_column(default=10)

    @property
    def available(self) -> int:
        return max(self.quantity - self.sold - self.held, 0)
