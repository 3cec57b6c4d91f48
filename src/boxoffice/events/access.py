"""Who may see or change an event: members of its organization by role; published events
are public; everyone else gets 404."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.auth import Claims, OptionalClaims
from boxoffice.core.access import access_policy
from boxoffice.core.ids import parse_id
from boxoffice.db.session import ReadSession, WriteSession
from boxoffice.events.errors import EventNotFound
from boxoffice.events.models import Event, EventStatus
from boxoffice.organizations.access import OrgAccess, authorize, role_in
from boxoffice.organizations.models import Role

EventId = Annotated[str, Path(description="Event id")]


@dataclass(frozen=True, slots=True)
class EventAccess:
    event: Event
    membership: OrgAccess


async def load_event(session: AsyncSession, event_id: str) -> Event:
    event = await session.get(Event, parse_id(event_id, EventNotFound()))
    if event is None:
        raise EventNotFound()
    return event


def event_member(minimum: Role) -> Callable[..., Awaitable[EventAccess]]:
    """Dependency for organizer routes under ``/events/{event_id}``."""

    @access_policy(f"event-organization:{minimum.value}")
    async def dependency(event_id: EventId, claims: Claims, session: WriteSession) -> EventAccess:
        event = await load_event(session, event_id)
        membership = await authorize(
            session,
            organization_id=event.organization_id,
            user_id=claims.user_id,
            minimum=minimum,
            not_found=EventNotFound(),
            publicly_visible=event.status is EventStatus.PUBLISHED,
        )
        return EventAccess(event=event, membership=membership)

    return dependency


@access_policy("public-if-published")
async def visible_event(
    event_id: EventId, claims: OptionalClaims, replica: ReadSession, primary: WriteSession
) -> Event:
    """Published events are public (read from a replica); any other status is shown only to
    members of the organization, read from the primary so they see their own writes."""
    event = await replica.get(Event, parse_id(event_id, EventNotFound()))
    if event is not None and event.status is EventStatus.PUBLISHED:
        return event
    if claims is not None:
        event = await load_event(primary, event_id)
        role = await role_in(primary, organization_id=event.organization_id, user_id=claims.user_id)
        if role is not None:
            return event
    raise EventNotFound()


EventStaff = Annotated[EventAccess, Depends(event_member(Role.STAFF))]
EventAdmin = Annotated[EventAccess, Depends(event_member(Role.ADMIN))]
VisibleEvent = Annotated[Event, Depends(visible_event)]
