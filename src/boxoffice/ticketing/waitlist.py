"""Waiting lists: when a ticket type is sold out, signed-in people queue for it; when seats come
back (a cancellation, an expired hold, a larger quantity) the first in line gets an *offer*: a
pending order holding the seats for them until ``offer_expires_at``, paid like any order.

Strictly first come, first offered: if the first person wants more seats than came back, the
ones behind wait too. An offer that lapses expires like any hold and the seats move on to the
next person.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.errors import ValidationFailed
from boxoffice.events.caching import public_event_changed
from boxoffice.events.models import Event, EventStatus
from boxoffice.notifications import notices
from boxoffice.search.indexer import index_event
from boxoffice.ticketing import inventory
from boxoffice.ticketing.errors import AlreadyOnWaitlist, NotOnWaitlist, NotSoldOut, SoldOut
from boxoffice.ticketing.inventory import Seats
from boxoffice.ticketing.models import (
    Order,
    OrderItem,
    OrderStatus,
    TicketType,
    WaitlistEntry,
    WaitlistStatus,
)


@dataclass(frozen=True, slots=True)
class Place:
    entry: WaitlistEntry
    position: int | None


async def join(
    session: AsyncSession,
    *,
    ticket_type: TicketType,
    event: Event,
    user_id: uuid.UUID,
    quantity: int,
    now: datetime,
) -> Place:
    if event.ends_at <= now:
        raise ValidationFailed("ticket_type_id", "the event is over")
    if quantity > ticket_type.max_per_order:
        raise ValidationFailed("quantity", f"at most {ticket_type.max_per_order}")
    if inventory.capped(ticket_type, event) >= quantity:
        raise NotSoldOut("tickets of this type are on sale: buy them instead")
    existing = await session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.ticket_type_id == ticket_type.id, WaitlistEntry.user_id == user_id
        )
    )
    if existing is not None:
        if existing.status in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED):
            raise AlreadyOnWaitlist("you are already on this waiting list")
        await session.delete(existing)  # a past offer: join again at the back
        await session.flush()
    entry = WaitlistEntry(
        id=uuid.uuid4(),
        ticket_type_id=ticket_type.id,
        event_id=event.id,
        user_id=user_id,
        quantity=quantity,
        status=WaitlistStatus.WAITING,
        joined_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(entry)
            await session.flush()
    except IntegrityError:
        raise AlreadyOnWaitlist("you are already on this waiting list") from None
    return Place(entry, await position_of(session, entry))


async def entry_of(
    session: AsyncSession, *, ticket_type_id: uuid.UUID, user_id: uuid.UUID
) -> WaitlistEntry:
    entry = await session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.ticket_type_id == ticket_type_id, WaitlistEntry.user_id == user_id
        )
    )
    if entry is None:
        raise NotOnWaitlist("you are not on this waiting list")
    return entry


async def leave(session: AsyncSession, entry: WaitlistEntry) -> None:
    await session.execute(delete(WaitlistEntry).where(WaitlistEntry.id == entry.id))


async def position_of(session: AsyncSession, entry: WaitlistEntry) -> int | None:
    if entry.status is not WaitlistStatus.WAITING:
        return None
    ahead = await session.scalar(
        select(func.count())
        .select_from(WaitlistEntry)
        .where(
            WaitlistEntry.ticket_type_id == entry.ticket_type_id,
            WaitlistEntry.status == WaitlistStatus.WAITING,
            tuple_(WaitlistEntry.joined_at, WaitlistEntry.id) < tuple_(entry.joined_at, entry.id),
        )
    )
    return int(ahead or 0) + 1


async def places_of(session: AsyncSession, user_id: uuid.UUID) -> list[Place]:
    entries = await session.scalars(
        select(WaitlistEntry)
        .where(WaitlistEntry.user_id == user_id)
        .order_by(WaitlistEntry.joined_at, WaitlistEntry.id)
    )
    return [Place(entry, await position_of(session, entry)) for entry in entries]


def place_document(place: Place) -> dict[str, Any]:
    entry = place.entry
    return {
        "ticket_type_id": str(entry.ticket_type_id),
        "event_id": str(entry.event_id),
        "quantity": entry.quantity,
        "status": entry.status.value,
        "position": place.position,
        "joined_at": entry.joined_at,
        "offer_expires_at": entry.offer_expires_at,
        "order_id": str(entry.order_id) if entry.order_id else None,
    }


async def offer_seats(
    session: AsyncSession,
    *,
    ticket_type_ids: list[uuid.UUID],
    now: datetime,
    offer_for: timedelta,
) -> list[uuid.UUID]:
    """Offer seats that came back to the people first in line; returns the offer orders' ids.

    Called where seats were just given back, with those ticket types' rows already locked by
    the caller's transaction, so the holds taken here cannot deadlock with other writers.
    """
    offered: list[uuid.UUID] = []
    for ticket_type_id in sorted(ticket_type_ids):
        while True:
            entry = await session.scalar(
                select(WaitlistEntry)
                .where(
                    WaitlistEntry.ticket_type_id == ticket_type_id,
                    WaitlistEntry.status == WaitlistStatus.WAITING,
                )
                .order_by(WaitlistEntry.joined_at, WaitlistEntry.id)
                .limit(1)
            )
            if entry is None:
                break
            order_id = await _offer(session, entry, now=now, offer_for=offer_for)
            if order_id is None:
                break
            offered.append(order_id)
    return offered


async def _offer(
    session: AsyncSession, entry: WaitlistEntry, *, now: datetime, offer_for: timedelta
) -> uuid.UUID | None:
    ticket_type = await session.get(TicketType, entry.ticket_type_id, populate_existing=True)
    event = await session.get(Event, entry.event_id)
    if ticket_type is None or event is None or not _on_sale(ticket_type, event, now):
        return None
    seats = [Seats(entry.event_id, entry.ticket_type_id, entry.quantity)]
    try:
        async with session.begin_nested():
            sold_out = await inventory.take(session, seats, as_sold=False)
    except SoldOut:
        return None
    order = Order(
        id=uuid.uuid4(),
        event_id=entry.event_id,
        user_id=entry.user_id,
        status=OrderStatus.PENDING,
        currency=ticket_type.currency,
        subtotal_amount=ticket_type.price_amount * entry.quantity,
        discount_amount=0,
        total_amount=ticket_type.price_amount * entry.quantity,
        expires_at=now + offer_for,
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    session.add(
        OrderItem(
            order_id=order.id,
            ticket_type_id=entry.ticket_type_id,
            quantity=entry.quantity,
            unit_amount=ticket_type.price_amount,
        )
    )
    entry.status = WaitlistStatus.OFFERED
    entry.order_id = order.id
    entry.offer_expires_at = order.expires_at
    await session.flush()
    await notices.waitlist_offered(session, entry.id)
    if sold_out:
        await index_event(session, entry.event_id)
    public_event_changed(session, entry.event_id)
    return order.id


def _on_sale(ticket_type: TicketType, event: Event, now: datetime) -> bool:
    """An offer is a sale: the rules of buying (orders.create_order) apply. Nothing is offered
    for a cancelled or finished event, nor outside the ticket type's sales window."""
    return (
        event.status is EventStatus.PUBLISHED
        and now < event.ends_at
        and (ticket_type.sales_start is None or now >= ticket_type.sales_start)
        and (ticket_type.sales_end is None or now < ticket_type.sales_end)
    )


async def _mark(session: AsyncSession, order_ids: list[uuid.UUID], status: WaitlistStatus) -> None:
    if not order_ids:
        return
    await session.execute(
        update(WaitlistEntry)
        .where(
            WaitlistEntry.order_id.in_(order_ids),
            WaitlistEntry.status == WaitlistStatus.OFFERED,
        )
        .values(status=status)
        .execution_options(synchronize_session=False)
    )


async def offer_claimed(session: AsyncSession, *, order_id: uuid.UUID) -> None:
    await _mark(session, [order_id], WaitlistStatus.CLAIMED)


async def order_ended(session: AsyncSession, *, order_id: uuid.UUID) -> None:
    """An offer's order was cancelled: the offer is gone."""
    await _mark(session, [order_id], WaitlistStatus.EXPIRED)


async def orders_expired(session: AsyncSession, *, order_ids: list[uuid.UUID]) -> None:
    await _mark(session, order_ids, WaitlistStatus.EXPIRED)


async def ticket_types_with_waiting(session: AsyncSession) -> list[uuid.UUID]:
    """Ticket types with someone waiting and seats free (the sweep offers them)."""
    rows = await session.scalars(
        select(WaitlistEntry.ticket_type_id)
        .join(TicketType, TicketType.id == WaitlistEntry.ticket_type_id)
        .where(
            WaitlistEntry.status == WaitlistStatus.WAITING,
            TicketType.quantity - TicketType.sold - TicketType.held > 0,
        )
        .distinct()
    )
    return sorted(rows)
