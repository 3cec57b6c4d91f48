"""Access to ticket types follows their event's organization."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path

from boxoffice.accounts.auth import Claims
from boxoffice.core.access import access_policy
from boxoffice.core.ids import parse_id
from boxoffice.db.session import WriteSession
from boxoffice.events.models import Event, EventStatus
from boxoffice.organizations.access import OrgAccess, authorize
from boxoffice.organizations.models import Role
from boxoffice.ticketing.errors import TicketTypeNotFound
from boxoffice.ticketing.models import TicketType


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
