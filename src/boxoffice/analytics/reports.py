"""The organizer's daily sales chart, read from the aggregate (analytics/aggregates.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.analytics import aggregates
from boxoffice.analytics.models import EventSalesDaily
from boxoffice.events.models import Event
from boxoffice.ticketing.models import TicketType


async def daily_sales(
    session: AsyncSession, event: Event, *, first: date | None, last: date | None
) -> dict[str, Any]:
    """The event's cells from ``first`` to ``last`` (local days, both included), by day then
    ticket type; days without any activity have no cells."""
    query = select(EventSalesDaily).where(EventSalesDaily.event_id == event.id)
    if first is not None:
        query = query.where(EventSalesDaily.day >= first)
    if last is not None:
        query = query.where(EventSalesDaily.day <= last)
    cells = await session.scalars(
        query.order_by(EventSalesDaily.day, EventSalesDaily.ticket_type_id)
    )
    # One currency per event (ticketing/service.py enforces it), as in the sales report.
    currency = await session.scalar(
        select(TicketType.currency)
        .where(TicketType.event_id == event.id)
        .order_by(TicketType.created_at, TicketType.id)
        .limit(1)
    )
    return {
        "event_id": str(event.id),
        "timezone": event.timezone,
        "currency": currency,
        "refreshed_at": await aggregates.last_refreshed(session),
        "data": [
            {
                "day": cell.day.isoformat(),
                "ticket_type_id": str(cell.ticket_type_id),
                "sold": cell.sold,
                "cancelled": cell.cancelled,
                "revenue": cell.revenue,
                "refunds": cell.refunds,
                "checked_in": cell.checked_in,
            }
            for cell in cells
        ],
    }
