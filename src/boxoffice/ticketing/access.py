"""Access to ticket types follows their event's organization."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.auth import Claims
from boxoffice.accounts.tokens import AccessClaims
from boxoffice.core.access import access_policy
from boxoffice.core.ids import parse_id
from boxoffice.db.session import WriteSession
from boxoffice.events.access import load_event
from boxoffice.events.errors import EventNotFound
from boxoffice.events.models import Event, EventStatus
from boxoffice.organizations.access import OrgAccess, authorize, role_in
from boxoffice.organizations.errors import InsufficientRole
from boxoffice.organizations.models import Role
from boxoffice.ticketing.errors import OrderNotFound, TicketNotFound, TicketTypeNotFound
from boxoffice.ticketing.models import Order, Ticket, TicketType


@dataclass(frozen=True, slots=True)
class TicketTypeAccess:
    ticket_type: TicketType
    event: Event
    membership: OrgAccess


def ticket_type_member(minimum: Role) -> Callable[..., Awaitable[TicketTypeAccess]]:
    @access_policy(f"ticket-type-organization:{minimum.value}")
    async def dependency(
        ticket_type_id: Annotated[str, Path(description="Ticket type id")],
        claims: Claims,
        session: WriteSession,
    ) -> TicketTypeAccess:
        ticket_type = await session.get(TicketType, parse_id(ticket_type_id, TicketTypeNotFound()))
        if ticket_type is None:
            raise TicketTypeNotFound()
        event = await session.get(Event, ticket_type.event_id)
        assert event is not None  # foreign key
        membership = await authorize(
            session,
            organization_id=event.organization_id,
            user_id=claims.user_id,
            minimum=minimum,
            not_found=TicketTypeNotFound(),
            publicly_visible=event.status is EventStatus.PUBLISHED,
        )
        return TicketTypeAccess(ticket_type=ticket_type, event=event, membership=membership)

    return dependency


TicketTypeAdmin = Annotated[TicketTypeAccess, Depends(ticket_type_member(Role.ADMIN))]


@dataclass(frozen=True, slots=True)
class OrderAccess:
    order: Order
    event: Event
    is_buyer: bool
    role: Role | None  # the caller's role in the organizing organization, if any


async def _load_order(
    session: AsyncSession, order_id: str, claims: AccessClaims, minimum: Role
) -> OrderAccess:
    """The buyer, or a member of the organizing organization with ``minimum`` or more; 404 to
    anyone else (an order's existence is nobody else's business)."""
    order = await session.get(Order, parse_id(order_id, OrderNotFound()))
    if order is None:
        raise OrderNotFound()
    event = await session.get(Event, order.event_id)
    assert event is not None  # foreign key
    role = await role_in(session, organization_id=event.organization_id, user_id=claims.user_id)
    is_buyer = order.user_id == claims.user_id
    if not is_buyer and (role is None or not role.includes(minimum)):
        raise OrderNotFound()
    return OrderAccess(order=order, event=event, is_buyer=is_buyer, role=role)


OrderId = Annotated[str, Path(description="Order id")]


@access_policy("order-buyer-or-organization:admin")
async def order_buyer_or_admin(
    order_id: OrderId, claims: Claims, session: WriteSession
) -> OrderAccess:
    return await _load_order(session, order_id, claims, Role.ADMIN)


@access_policy("order-buyer")
async def order_buyer(order_id: OrderId, claims: Claims, session: WriteSession) -> OrderAccess:
    """Only the buyer pays; the organization's admins see the order but get 403."""
    access = await _load_order(session, order_id, claims, Role.ADMIN)
    if not access.is_buyer:
        raise InsufficientRole("only the buyer can pay for an order")
    return access


def _ever_published(event: Event) -> bool:
    """Public knowledge: published, or cancelled after having been published (a 409 then).
    Drafts, and drafts cancelled unpublished, do not exist for buyers (404)."""
    return event.status is EventStatus.PUBLISHED or (
        event.status is EventStatus.CANCELLED and event.published_at is not None
    )


@access_policy("authenticated")
async def buyer_of_published_event(
    event_id: Annotated[str, Path(description="Event id")],
    claims: Claims,
    session: WriteSession,
) -> tuple[Event, AccessClaims]:
    """Any signed-in person may buy tickets of a published (or cancelled: 409) event."""
    event = await load_event(session, event_id)
    if not _ever_published(event):
        raise EventNotFound()
    return event, claims


@dataclass(frozen=True, slots=True)
class TicketAccess:
    ticket: Ticket
    event: Event


@access_policy("ticket-holder-or-organization:staff")
async def ticket_holder_or_staff(
    ticket_id: Annotated[str, Path(description="Ticket id")],
    claims: Claims,
    session: WriteSession,
) -> TicketAccess:
    ticket = await session.get(Ticket, parse_id(ticket_id, TicketNotFound()))
    if ticket is None:
        raise TicketNotFound()
    event = await session.get(Event, ticket.event_id)
    assert event is not None  # foreign key
    if ticket.holder_id != claims.user_id:
        role = await role_in(session, organization_id=event.organization_id, user_id=claims.user_id)
        if role is None or not role.includes(Role.STAFF):
            raise TicketNotFound()
    return TicketAccess(ticket=ticket, event=event)


@dataclass(frozen=True, slots=True)
class TicketTypeAccessPublic:
    ticket_type: TicketType
    event: Event


@access_policy("ticket-type-published:authenticated")
async def ticket_type_of_published_event(
    ticket_type_id: Annotated[str, Path(description="Ticket type id")],
    claims: Claims,
    session: WriteSession,
) -> tuple[TicketTypeAccessPublic, AccessClaims]:
    ticket_type = await session.get(TicketType, parse_id(ticket_type_id, TicketTypeNotFound()))
    if ticket_type is None:
        raise TicketTypeNotFound()
    event = await session.get(Event, ticket_type.event_id)
    assert event is not None  # foreign key
    if not _ever_published(event):
        raise TicketTypeNotFound()
    return TicketTypeAccessPublic(ticket_type, event), claims


OrderBuyerOrAdmin = Annotated[OrderAccess, Depends(order_buyer_or_admin)]
OrderBuyer = Annotated[OrderAccess, Depends(order_buyer)]
Buyer = Annotated[tuple[Event, AccessClaims], Depends(buyer_of_published_event)]
TicketHolderOrStaff = Annotated[TicketAccess, Depends(ticket_holder_or_staff)]
WaitlistTicketType = Annotated[
    tuple[TicketTypeAccessPublic, AccessClaims], Depends(ticket_type_of_published_event)
]
