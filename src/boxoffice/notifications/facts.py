"""What an e-mail says, read from the database into plain frozen dataclasses.

Templates and message composition only ever see these facts, never ORM objects: nothing can
lazy-load during rendering, and a fact is hashable, so per-event work (the calendar file) is
cached across a fan-out to thousands of holders.

Every loader is a fixed number of queries whatever the size of what it reads.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import User
from boxoffice.config import Settings
from boxoffice.events.models import Event
from boxoffice.organizations.models import Membership, Organization, Role
from boxoffice.ticketing.models import (
    Order,
    OrderItem,
    OrderStatus,
    Ticket,
    TicketType,
    WaitlistEntry,
)

# The reason ticketing.orders.cancel_open_orders writes on the orders of a cancelled event.
# Kept equal to it by hand until that module exports it.
EVENT_CANCELLED_REASON = "the event was cancelled"

_RECIPIENT_ROLES = (Role.OWNER, Role.ADMIN)


@dataclass(frozen=True, slots=True)
class EventFacts:
    id: uuid.UUID
    title: str
    description: str
    starts_at: datetime  # aware, UTC
    ends_at: datetime
    timezone: str  # IANA zone: times are shown in it
    venue_name: str | None
    venue_address: str | None
    city: str | None
    country: str | None
    online_url: str | None
    organizer: str
    url: str  # the public event page
    status: str
    version: int  # bumped on every change: the calendar entry's SEQUENCE
    updated_at: datetime

    @property
    def venue_line(self) -> str | None:
        """ "Name, Address, City", or None for an online event."""
        parts = (self.venue_name, self.venue_address, self.city)
        return ", ".join(part.strip() for part in parts if part and part.strip()) or None


@dataclass(frozen=True, slots=True)
class TicketFacts:
    id: uuid.UUID
    code: str
    ticket_type_name: str
    attendee_name: str | None
    price_amount: int  # what the buyer paid for this seat, before an order-wide promo code
    currency: str


@dataclass(frozen=True, slots=True)
class LineFacts:
    ticket_type_name: str
    quantity: int
    unit_amount: int
    discount_amount: int

    @property
    def subtotal_amount(self) -> int:
        return self.unit_amount * self.quantity


@dataclass(frozen=True, slots=True)
class OrderFacts:
    id: uuid.UUID
    buyer_name: str
    buyer_email: str
    status: str
    currency: str
    subtotal_amount: int
    discount_amount: int
    total_amount: int
    lines: tuple[LineFacts, ...]
    tickets: tuple[TicketFacts, ...]
    event: EventFacts
    cancel_reason: str | None
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    payment_provider: str | None
    payment_status: str

    @property
    def cancelled_with_event(self) -> bool:
        return self.cancel_reason == EVENT_CANCELLED_REASON


@dataclass(frozen=True, slots=True)
class Holder:
    """A buyer of tickets for one event."""

    user_id: uuid.UUID
    name: str
    email: str
    order_count: int
    ticket_count: int


@dataclass(frozen=True, slots=True)
class OrganizerRecipient:
    user_id: uuid.UUID
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class WaitlistOfferFacts:
    entry_id: uuid.UUID
    user_name: str
    user_email: str
    event: EventFacts
    ticket_type_name: str
    quantity: int
    order_id: uuid.UUID
    offer_expires_at: datetime
    status: str  # the entry's status now: the offer may already be claimed or expired
    pay_url: str


# ---------------------------------------------------------------------------------- events


def _event_facts(event: Event, organizer: str, settings: Settings) -> EventFacts:
    return EventFacts(
        id=event.id,
        title=event.title,
        description=event.description,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        timezone=event.timezone,
        venue_name=event.venue_name,
        venue_address=event.venue_address,
        city=event.city,
        country=event.country,
        online_url=event.online_url,
        organizer=organizer,
        url=f"{settings.public_url}/events/{event.id}",
        status=event.status.value,
        version=event.version,
        updated_at=event.updated_at,
    )


async def load_event(
    session: AsyncSession, event_id: uuid.UUID, *, settings: Settings
) -> EventFacts | None:
    row = (
        await session.execute(
            select(Event, Organization.name)
            .join(Organization, Organization.id == Event.organization_id)
            .where(Event.id == event_id)
        )
    ).one_or_none()
    return None if row is None else _event_facts(row[0], row[1], settings)


# ---------------------------------------------------------------------------------- orders


async def load_order(
    session: AsyncSession, order_id: uuid.UUID, *, settings: Settings
) -> OrderFacts | None:
    """The order with its buyer, event, lines and tickets, in three queries."""
    row = (
        await session.execute(
            select(Order, User.name, User.email, Event, Organization.name)
            .join(User, User.id == Order.user_id)
            .join(Event, Event.id == Order.event_id)
            .join(Organization, Organization.id == Event.organization_id)
            .where(Order.id == order_id)
        )
    ).one_or_none()
    if row is None:
        return None
    order, buyer_name, buyer_email, event, organizer = row
    lines = await session.execute(
        select(OrderItem, TicketType.name)
        .join(TicketType, TicketType.id == OrderItem.ticket_type_id)
        .where(OrderItem.order_id == order_id)
        .order_by(OrderItem.id)
    )
    tickets = await session.execute(
        select(Ticket, TicketType.name, OrderItem.unit_amount)
        .join(TicketType, TicketType.id == Ticket.ticket_type_id)
        .join(
            OrderItem,
            and_(
                OrderItem.order_id == Ticket.order_id,
                OrderItem.ticket_type_id == Ticket.ticket_type_id,
            ),
        )
        .where(Ticket.order_id == order_id)
        .order_by(Ticket.created_at, Ticket.id)
    )
    return OrderFacts(
        id=order.id,
        buyer_name=buyer_name,
        buyer_email=buyer_email,
        status=order.status.value,
        currency=order.currency,
        subtotal_amount=order.subtotal_amount,
        discount_amount=order.discount_amount,
        total_amount=order.total_amount,
        lines=tuple(
            LineFacts(name, item.quantity, item.unit_amount, item.discount_amount)
            for item, name in lines
        ),
        tickets=tuple(
            TicketFacts(
                id=ticket.id,
                code=ticket.code,
                ticket_type_name=name,
                attendee_name=ticket.attendee_name or None,
                price_amount=unit_amount,
                currency=order.currency,
            )
            for ticket, name, unit_amount in tickets
        ),
        event=_event_facts(event, organizer, settings),
        cancel_reason=order.cancel_reason,
        confirmed_at=order.confirmed_at,
        cancelled_at=order.cancelled_at,
        payment_provider=order.payment_provider,
        payment_status=order.payment_status.value,
    )


# ---------------------------------------------------------------------------------- holders


async def load_holders(
    session: AsyncSession,
    event_id: uuid.UUID,
    *,
    after_user_id: uuid.UUID | None,
    limit: int,
    include_event_cancelled: bool,
) -> list[Holder]:
    """One batch of the event's buyers with confirmed orders, by ``user_id`` ascending.

    Continue with ``after_user_id`` = the last holder's ``user_id`` until a batch comes back
    shorter than ``limit``. ``include_event_cancelled``: also the buyers whose confirmed orders
    were cancelled because the event was (for the cancellation notice, sent after the orders
    were cancelled). Counts cover the same orders: their tickets, valid or void.

    One statement per batch: the page of buyers is aggregated from the event's orders in
    ``user_id`` order (a range scan of an index on ``orders (event_id, user_id)``), and only
    then joined to their users.
    """
    held = Order.status == OrderStatus.CONFIRMED
    if include_event_cancelled:
        held = or_(
            held,
            and_(
                Order.status == OrderStatus.CANCELLED,
                Order.confirmed_at.is_not(None),
                Order.cancel_reason == EVENT_CANCELLED_REASON,
            ),
        )
    page = (
        select(
            Order.user_id.label("user_id"),
            func.count(func.distinct(Order.id)).label("orders"),
            func.sum(OrderItem.quantity).label("tickets"),
        )
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(Order.event_id == event_id, held)
        .group_by(Order.user_id)
        .order_by(Order.user_id)
        .limit(limit)
    )
    if after_user_id is not None:
        page = page.where(Order.user_id > after_user_id)
    buyers = page.subquery()
    rows = await session.execute(
        select(buyers.c.user_id, User.name, User.email, buyers.c.orders, buyers.c.tickets)
        .join(User, User.id == buyers.c.user_id)
        .order_by(buyers.c.user_id)
    )
    return [
        Holder(user_id, name, email, int(orders), int(tickets or 0))
        for user_id, name, email, orders, tickets in rows
    ]


# ---------------------------------------------------------------------------------- organizers


async def load_organizer_recipients(
    session: AsyncSession, organization_id: uuid.UUID
) -> list[OrganizerRecipient]:
    """The organization's owners and admins, by e-mail address."""
    rows = await session.execute(
        select(User.id, User.name, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.organization_id == organization_id,
            Membership.role.in_(_RECIPIENT_ROLES),
        )
        .order_by(User.email)
    )
    return [OrganizerRecipient(user_id, name, email) for user_id, name, email in rows]


# ---------------------------------------------------------------------------------- waitlist


async def load_waitlist_offer(
    session: AsyncSession, entry_id: uuid.UUID, *, settings: Settings
) -> WaitlistOfferFacts | None:
    """The offer made to a waiting-list entry; None if there is no such entry or it was never
    offered seats."""
    row = (
        await session.execute(
            select(WaitlistEntry, User.name, User.email, TicketType.name, Event, Organization.name)
            .join(User, User.id == WaitlistEntry.user_id)
            .join(TicketType, TicketType.id == WaitlistEntry.ticket_type_id)
            .join(Event, Event.id == WaitlistEntry.event_id)
            .join(Organization, Organization.id == Event.organization_id)
            .where(WaitlistEntry.id == entry_id)
        )
    ).one_or_none()
    if row is None:
        return None
    entry, user_name, user_email, type_name, event, organizer = row
    if entry.order_id is None or entry.offer_expires_at is None:
        return None
    return WaitlistOfferFacts(
        entry_id=entry.id,
        user_name=user_name,
        user_email=user_email,
        event=_event_facts(event, organizer, settings),
        ticket_type_name=type_name,
        quantity=entry.quantity,
        order_id=entry.order_id,
        offer_expires_at=entry.offer_expires_at,
        status=entry.status.value,
        pay_url=f"{settings.public_url}/orders/{entry.order_id}",
    )
