"""Ticket types and the inventory summary shown with events."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.errors import ValidationFailed
from boxoffice.db.locking import lock_row
from boxoffice.events.caching import public_event_changed
from boxoffice.events.errors import EventCancelled
from boxoffice.events.models import Event, EventStatus
from boxoffice.search.indexer import index_event
from boxoffice.ticketing.errors import QuantityBelowCommitted, TicketTypeNotFound
from boxoffice.ticketing.models import TicketType


@dataclass(frozen=True, slots=True)
class InventorySummary:
    min_price_amount: int | None
    currency: str | None
    available: int


EMPTY_SUMMARY = InventorySummary(min_price_amount=None, currency=None, available=0)


async def summaries(
    session: AsyncSession, event_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, InventorySummary]:
    """Lowest price, currency and seats left per event, in one query for a whole page."""
    ids = list(event_ids)
    if not ids:
        return {}
    result = await session.execute(
        select(
            TicketType.event_id,
            func.min(TicketType.price_amount),
            func.min(TicketType.currency),
            func.sum(TicketType.quantity - TicketType.sold - TicketType.held),
            func.min(Event.capacity - Event.sold - Event.held),
        )
        .join(Event, Event.id == TicketType.event_id)
        .where(TicketType.event_id.in_(ids))
        .group_by(TicketType.event_id)
    )
    return {
        event_id: InventorySummary(int(low), currency, _capped(int(left or 0), shared))
        for event_id, low, currency, left, shared in result
    }


def _capped(own: int, shared: int | None) -> int:
    return max(min(own, shared) if shared is not None else own, 0)


async def list_ticket_types(session: AsyncSession, event_id: uuid.UUID) -> list[TicketType]:
    result = await session.execute(
        select(TicketType)
        .where(TicketType.event_id == event_id)
        .order_by(TicketType.created_at, TicketType.id)
    )
    return list(result.scalars())


async def count_ticket_types(session: AsyncSession, event_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count()).select_from(TicketType).where(TicketType.event_id == event_id)
    )
    return int(count or 0)


async def get_ticket_type(session: AsyncSession, ticket_type_id: uuid.UUID) -> TicketType:
    ticket_type = await session.get(TicketType, ticket_type_id)
    if ticket_type is None:
        raise TicketTypeNotFound()
    return ticket_type


async def create_ticket_type(
    session: AsyncSession, *, event: Event, fields: dict[str, Any], now: datetime
) -> TicketType:
    _require_not_cancelled(event)
    # Serialize ticket-type writes per event, so the one-currency rule holds under concurrency.
    await lock_row(session, Event, event.id)
    await _require_event_currency(session, event_id=event.id, currency=fields["currency"])
    _check_sales_window(fields.get("sales_start"), fields.get("sales_end"))
    ticket_type = TicketType(event_id=event.id, created_at=now, updated_at=now, **fields)
    session.add(ticket_type)
    event.version += 1
    await session.flush()
    await index_event(session, event.id)
    public_event_changed(session, event.id)
    return ticket_type


async def update_ticket_type(
    session: AsyncSession,
    *,
    ticket_type: TicketType,
    event: Event,
    changes: dict[str, Any],
    now: datetime,
) -> TicketType:
    _require_not_cancelled(event)
    if "currency" in changes:
        await lock_row(session, Event, event.id)
        await _require_event_currency(
            session, event_id=event.id, currency=changes["currency"], ignore=ticket_type.id
        )
    _check_sales_window(
        changes.get("sales_start", ticket_type.sales_start),
        changes.get("sales_end", ticket_type.sales_end),
    )
    quantity = changes.pop("quantity", None)
    if quantity is not None:
        # Conditional on the live counters, so a sale racing this change cannot be undercut.
        resized = await session.execute(
            update(TicketType)
            .where(TicketType.id == ticket_type.id, TicketType.sold + TicketType.held <= quantity)
            .values(quantity=quantity, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if resized.rowcount != 1:  # type: ignore[attr-defined]
            await session.refresh(ticket_type)
            committed = ticket_type.sold + ticket_type.held
            raise QuantityBelowCommitted(
                f"{committed} tickets are sold or held; quantity must be at least {committed}"
            )
        await session.refresh(ticket_type)
    for name, value in changes.items():
        setattr(ticket_type, name, value)
    ticket_type.updated_at = now
    event.version += 1
    await session.flush()
    await index_event(session, event.id)
    public_event_changed(session, event.id)
    return ticket_type


def _require_not_cancelled(event: Event) -> None:
    if event.status is EventStatus.CANCELLED:
        raise EventCancelled("a cancelled event's ticket types cannot change")


async def _require_event_currency(
    session: AsyncSession, *, event_id: uuid.UUID, currency: str, ignore: uuid.UUID | None = None
) -> None:
    query = select(TicketType.currency).where(
        TicketType.event_id == event_id, TicketType.currency != currency
    )
    if ignore is not None:
        query = query.where(TicketType.id != ignore)
    other = await session.scalar(query.limit(1))
    if other is not None:
        raise ValidationFailed(
            "currency", f"every ticket type of an event uses one currency; this event uses {other}"
        )


def _check_sales_window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        raise ValidationFailed("sales_end", "must be after sales_start")
