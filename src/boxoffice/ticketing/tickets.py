"""Tickets: one per seat of a confirmed order, each with an unguessable code."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import User
from boxoffice.ticketing.models import Order, OrderItem, Ticket, TicketStatus

CODE_BYTES = 20  # 160 bits of randomness: guessing a valid code is hopeless


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


async def issue(
    session: AsyncSession, order: Order, items: list[OrderItem], *, now: datetime
) -> list[Ticket]:
    attendee = await session.scalar(select(User.name).where(User.id == order.user_id)) or ""
    issued = [
        Ticket(
            id=uuid.uuid4(),
            code=new_code(),
            order_id=order.id,
            event_id=order.event_id,
            ticket_type_id=item.ticket_type_id,
            holder_id=order.user_id,
            attendee_name=attendee,
            status=TicketStatus.VALID,
            created_at=now,
        )
        for item in items
        for _ in range(item.quantity)
    ]
    session.add_all(issued)
    await session.flush()
    return issued


async def void_for_order(session: AsyncSession, order_id: uuid.UUID, *, now: datetime) -> None:
    await session.execute(
        update(Ticket)
        .where(Ticket.order_id == order_id, Ticket.status == TicketStatus.VALID)
        .values(status=TicketStatus.VOID, voided_at=now)
        .execution_options(synchronize_session=False)
    )


def ticket_document(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": str(ticket.id),
        "code": ticket.code,
        "ticket_type_id": str(ticket.ticket_type_id),
        "event_id": str(ticket.event_id),
        "order_id": str(ticket.order_id),
        "attendee_name": ticket.attendee_name,
        "status": ticket.status.value,
        "checked_in_at": ticket.checked_in_at,
    }
