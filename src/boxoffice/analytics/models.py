"""Sales and attendance aggregates: what the organizer's dashboard charts read.

The figures are derived data, rebuilt from orders and tickets by ``analytics/aggregates.py``;
nothing else writes them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.db.base import Base
from boxoffice.ticketing.models import Order, Ticket


class EventSalesDaily(Base):
    """One ticket type's figures for one local day of its event.

    ``day`` is the calendar date in the *event's* time zone. Figures are flows, counted on the
    day they happened: ``sold``/``revenue`` on the order's confirmation day (whatever became
    of it since), ``cancelled``/``refunds`` on the day a confirmed order was cancelled,
    ``checked_in`` on the day of the check-in (valid tickets only). So per ticket type the sum
    of ``sold - cancelled`` is what is sold now and of ``revenue - refunds`` what is earned
    now. ``refreshed_at``: when this row's numbers were last written.
    """

    __tablename__ = "event_sales_daily"

    # Primary key order serves the dashboard: one event, a range of days.
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    ticket_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket_types.id", ondelete="CASCADE"), primary_key=True
    )
    sold: Mapped[int]
    cancelled: Mapped[int]
    revenue: Mapped[int]  # minor units, net of promo discounts
    refunds: Mapped[int]  # minor units
    checked_in: Mapped[int]
    refreshed_at: Mapped[datetime]


class AnalyticsState(Base):
    """How far an aggregate is refreshed: one row per aggregate. ``refreshed_at`` is the start
    of the last completed refresh; locking the row serializes refreshes."""

    __tablename__ = "analytics_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    refreshed_at: Mapped[datetime | None]  # None: never refreshed


# What an incremental refresh asks "what changed since?" (analytics/aggregates.py). Declared
# here, next to the one query that needs them; the tables belong to ticketing.
Index("ix_orders_updated_at", Order.updated_at)
Index(
    "ix_tickets_checked_in_at",
    Ticket.checked_in_at,
    postgresql_where=text("checked_in_at IS NOT NULL"),
    sqlite_where=text("checked_in_at IS NOT NULL"),
)
