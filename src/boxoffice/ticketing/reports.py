"""Organizer views of an event: its attendees (JSON pages and a CSV export) and its sales.

Sales figures come from the seat counters (``sold``/``held``, exact by construction, see
ticketing/inventory.py) and from the orders: revenue is the sum over *confirmed* orders of
``unit_amount * quantity - discount_amount`` per line, so pending, expired and cancelled
(refunded) orders never count as money earned.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import User
from boxoffice.core.timestamps import format_timestamp
from boxoffice.events.models import Event
from boxoffice.ticketing.inventory import capped
from boxoffice.ticketing.models import (
    Order,
    OrderItem,
    OrderStatus,
    Ticket,
    TicketStatus,
    TicketType,
)

# ---------------------------------------------------------------------------------- attendees


@dataclass(frozen=True, slots=True)
class Attendee:
    ticket_id: uuid.UUID
    attendee_name: str
    buyer_email: str | None
    ticket_type_id: uuid.UUID
    ticket_type_name: str
    status: TicketStatus
    checked_in_at: datetime | None
    order_id: uuid.UUID


def attendee_document(attendee: Attendee) -> dict[str, Any]:
    return {
        "ticket_id": str(attendee.ticket_id),
        "attendee_name": attendee.attendee_name,
        "buyer_email": attendee.buyer_email,
        "ticket_type_id": str(attendee.ticket_type_id),
        "ticket_type_name": attendee.ticket_type_name,
        "status": attendee.status.value,
        "checked_in_at": attendee.checked_in_at,
        "order_id": str(attendee.order_id),
    }


AttendeeKey = tuple[str, uuid.UUID]


AttendeeRow = Row[uuid.UUID, str, str, uuid.UUID, str, TicketStatus, datetime | None, uuid.UUID]


def _attendee(row: AttendeeRow) -> Attendee:
    ticket_id, name, email, ticket_type_id, type_name, status, checked_in_at, order_id = row
    return Attendee(
        ticket_id, name, email, ticket_type_id, type_name, status, checked_in_at, order_id
    )


def _attendee_query(
    event_id: uuid.UUID, status: TicketStatus | None
) -> Select[uuid.UUID, str, str, uuid.UUID, str, TicketStatus, datetime | None, uuid.UUID]:
    query = (
        select(
            Ticket.id,
            Ticket.attendee_name,
            User.email,
            Ticket.ticket_type_id,
            TicketType.name,
            Ticket.status,
            Ticket.checked_in_at,
            Ticket.order_id,
        )
        .join(TicketType, TicketType.id == Ticket.ticket_type_id)
        .join(Order, Order.id == Ticket.order_id)
        .outerjoin(User, User.id == Order.user_id)
        .where(Ticket.event_id == event_id)
    )
    if status is not None:
        query = query.where(Ticket.status == status)
    return query


async def attendees_page(
    session: AsyncSession,
    event_id: uuid.UUID,
    *,
    after: AttendeeKey | None,
    limit: int,
    status: TicketStatus | None = None,
) -> tuple[list[Attendee], AttendeeKey | None]:
    """One page of the event's ticket holders by name (then ticket id), and the key after it."""
    query = _attendee_query(event_id, status)
    if after is not None:
        query = query.where(tuple_(Ticket.attendee_name, Ticket.id) > tuple_(*after))
    rows = list(
        await session.execute(query.order_by(Ticket.attendee_name, Ticket.id).limit(limit + 1))
    )
    attendees = [_attendee(row) for row in rows[:limit]]
    next_key = None
    if len(rows) > limit:
        last = attendees[-1]
        next_key = (last.attendee_name, last.ticket_id)
    return attendees, next_key


async def all_attendees(
    session: AsyncSession, event_id: uuid.UUID, *, status: TicketStatus | None = None
) -> list[Attendee]:
    rows = await session.execute(
        _attendee_query(event_id, status).order_by(Ticket.attendee_name, Ticket.id)
    )
    return [_attendee(row) for row in rows]


CSV_HEADER = (
    "ticket_id",
    "attendee_name",
    "buyer_email",
    "ticket_type_id",
    "ticket_type",
    "status",
    "checked_in_at",
    "order_id",
)
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """Text as a spreadsheet shows it, never as a formula: a leading ``'`` disarms it."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def attendees_csv(attendees: Iterable[Attendee]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for attendee in attendees:
        writer.writerow(
            (
                str(attendee.ticket_id),
                csv_cell(attendee.attendee_name),
                csv_cell(attendee.buyer_email or ""),
                str(attendee.ticket_type_id),
                csv_cell(attendee.ticket_type_name),
                attendee.status.value,
                format_timestamp(attendee.checked_in_at) if attendee.checked_in_at else "",
                str(attendee.order_id),
            )
        )
    return out.getvalue().encode("utf-8")


# ---------------------------------------------------------------------------------- sales


async def sales_report(session: AsyncSession, event: Event) -> dict[str, Any]:
    """Seats and money per ticket type and for the whole event, in five small queries."""
    ticket_types = list(
        await session.scalars(
            select(TicketType)
            .where(TicketType.event_id == event.id)
            .order_by(TicketType.created_at, TicketType.id)
        )
    )
    revenue: dict[uuid.UUID, int] = {
        ticket_type_id: int(amount or 0)
        for ticket_type_id, amount in await session.execute(
            select(
                OrderItem.ticket_type_id,
                func.sum(OrderItem.unit_amount * OrderItem.quantity - OrderItem.discount_amount),
            )
            .join(Order, Order.id == OrderItem.order_id)
            .where(Order.event_id == event.id, Order.status == OrderStatus.CONFIRMED)
            .group_by(OrderItem.ticket_type_id)
        )
    }
    orders = {status.value: 0 for status in OrderStatus}
    for order_status, count in await session.execute(
        select(Order.status, func.count()).where(Order.event_id == event.id).group_by(Order.status)
    ):
        orders[order_status.value] = int(count)
    tickets = {status.value: 0 for status in TicketStatus}
    for ticket_status, count in await session.execute(
        select(Ticket.status, func.count())
        .where(Ticket.event_id == event.id)
        .group_by(Ticket.status)
    ):
        tickets[ticket_status.value] = int(count)
    checked_in = await session.scalar(
        select(func.count()).where(
            Ticket.event_id == event.id,
            Ticket.status == TicketStatus.VALID,
            Ticket.checked_in_at.is_not(None),
        )
    )

    rows = [
        {
            "ticket_type_id": str(ticket_type.id),
            "name": ticket_type.name,
            "price_amount": ticket_type.price_amount,
            "quantity": ticket_type.quantity,
            "sold": ticket_type.sold,
            "held": ticket_type.held,
            "available": capped(ticket_type, event),
            "revenue_amount": revenue.get(ticket_type.id, 0),
            "currency": ticket_type.currency,
        }
        for ticket_type in ticket_types
    ]
    own_left = sum(max(t.quantity - t.sold - t.held, 0) for t in ticket_types)
    available = own_left
    if event.capacity is not None:
        available = max(min(own_left, event.capacity - event.sold - event.held), 0)
    return {
        "event_id": str(event.id),
        "ticket_types": rows,
        "totals": {
            "capacity": event.capacity,
            "quantity": sum(t.quantity for t in ticket_types),
            # The event's counters move with its ticket types' in the same statements.
            "sold": event.sold,
            "held": event.held,
            "available": available,
            "revenue_amount": sum(revenue.values()),
            # One currency per event (ticketing/service.py enforces it).
            "currency": ticket_types[0].currency if ticket_types else None,
            "tickets_valid": tickets[TicketStatus.VALID.value],
            "tickets_void": tickets[TicketStatus.VOID.value],
            "checked_in": int(checked_in or 0),
            "orders": orders,
        },
    }
