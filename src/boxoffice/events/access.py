"""Who may see or change an event: members of its organization by role; published events
are public; everyone else gets 404."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.auth import Claims, OptionalClaims
from boxoffice.accounts.tokens import AccessClaims
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


async def members_only_event(
    primary: AsyncSession, event_id: uuid.UUID, claims: AccessClaims | None
) -> Event:
    """An event that is not (or not yet, on this replica) public: members only, read from the
    primary so they see their own writes; 404 to everyone else."""
    if claims is not None:
        event = await primary.get(Event, event_id)
        if event is not None:
            role = await role_in(
                primary, organization_id=event.organization_id, user_id=claims.user_id
            )
            if role is not None:
                return event
    raise EventNotFound()


@access_policy("public-if-published")
async def event_viewer(claims: OptionalClaims) -> AccessClaims | None:
    """Published events are public; any other status is for members of the organization."""
    return claims


@access_policy("public-if-published")
async def visible_event(
    event_id: EventId, claims: OptionalClaims, replica: ReadSession, primary: WriteSession
) -> Event:
    """Published events are public (read from a replica); others as in members_only_event."""
    parsed = parse_id(event_id, EventNotFound())
    event = await replica.get(Event, parsed)
    if event is not None and event.status is EventStatus.PUBLISHED:
        return event
    return await members_only_event(primary, parsed, claims)


EventStaff = Annotated[EventAccess, Depends(event_member(Role.STAFF))]
EventAdmin = Annotated[EventAccess, Depends(event_member(Role.ADMIN))]
VisibleEvent = Annotated[Event, Depends(visible_event)]
EventViewer = Annotated[AccessClaims | None, Depends(event_viewer)]
