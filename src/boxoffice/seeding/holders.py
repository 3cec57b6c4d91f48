"""Bulk ticket holders for one event: N buyers, each with one confirmed (paid) order of one
ticket, written directly in chunks. For load tests and the notice fan-out benchmark, where
registering 50,000 people through the API (argon2 each) would take hours."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update

from boxoffice.accounts.models import User
from boxoffice.core.timestamps import utcnow
from boxoffice.db.engine import Database
from boxoffice.events.models import Event
from boxoffice.ticketing.models import (
    Order,
    OrderItem,
    OrderStatus,
    PaymentStatus,
    Ticket,
    TicketStatus,
    TicketType,
)

CHUNK = 1000
# Not a valid argon2 hash: these accounts cannot log in.
NO_LOGIN = "!bulk-holder"


async def add_holders(
    database: Database,
    *,
    ticket_type_id: uuid.UUID,
    count: int,
    email_domain: str = "holders.example",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Add ``count`` holders of one ticket each; the ticket type's (and event's) ``sold``
    grows to match, and its quantity if needed. Returns how many were added."""
    now = utcnow()
    async with database.write_sessions() as session:
        ticket_type = await session.get(TicketType, ticket_type_id)
        if ticket_type is None:
            raise LookupError("no such ticket type")
        event_id, price, currency = (
            ticket_type.event_id,
            ticket_type.price_amount,
            ticket_type.currency,
        )
    batch = uuid.uuid4().hex[:8]
    added = 0
    while added < count:
        size = min(CHUNK, count - added)
        users, orders, items, tickets = [], [], [], []
        for index in range(added, added + size):
            user_id, order_id = uuid.uuid4(), uuid.uuid4()
            users.append(
                {
                    "id": user_id,
                    "email": f"holder-{batch}-{index}@{email_domain}",
                    "name": f"Holder {index}",
                    "password_hash": NO_LOGIN,
                    "is_platform_admin": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            orders.append(
                {
                    "id": order_id,
                    "event_id": event_id,
                    "user_id": user_id,
                    "status": OrderStatus.CONFIRMED,
                    "currency": currency,
                    "subtotal_amount": price,
                    "discount_amount": 0,
                    "total_amount": price,
                    "expires_at": now + timedelta(minutes=10),
                    "confirmed_at": now,
                    "payment_provider": "test" if price else "free",
                    "payment_status": PaymentStatus.CAPTURED if price else PaymentStatus.NONE,
                    "payment_reference": f"bulk_{order_id.hex}" if price else None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            items.append(
                {
                    "id": uuid.uuid4(),
                    "order_id": order_id,
                    "ticket_type_id": ticket_type_id,
                    "quantity": 1,
                    "unit_amount": price,
                    "discount_amount": 0,
                }
            )
            tickets.append(
                {
                    "id": uuid.uuid4(),
                    "code": secrets.token_urlsafe(20),
                    "order_id": order_id,
                    "event_id": event_id,
                    "ticket_type_id": ticket_type_id,
                    "holder_id": user_id,
                    "attendee_name": f"Holder {index}",
                    "status": TicketStatus.VALID,
                    "created_at": now,
                }
            )
        async with database.write_sessions() as session, session.begin():
            await session.execute(insert(User), users)
            await session.execute(insert(Order), orders)
            await session.execute(insert(OrderItem), items)
            await session.execute(insert(Ticket), tickets)
            quantity = await session.scalar(
                select(TicketType.quantity).where(TicketType.id == ticket_type_id)
            )
            sold = await session.scalar(
                select(TicketType.sold + TicketType.held).where(TicketType.id == ticket_type_id)
            )
            if quantity is not None and sold is not None and sold + size > quantity:
                await session.execute(
                    update(TicketType)
                    .where(TicketType.id == ticket_type_id)
                    .values(quantity=sold + size)
                )
            await session.execute(
                update(TicketType)
                .where(TicketType.id == ticket_type_id)
                .values(sold=TicketType.sold + size)
            )
            event = (
                await session.execute(
                    select(Event.capacity, Event.sold + Event.held).where(Event.id == event_id)
                )
            ).one()
            capacity, committed = event
            values: dict[str, Any] = {"sold": Event.sold + size}
            if capacity is not None and committed + size > capacity:
                values["capacity"] = committed + size
            await session.execute(update(Event).where(Event.id == event_id).values(**values))
        added += size
        if progress is not None:
            progress(size)
    return added
