"""Events: create, change, publish, cancel (the public listing is search/service.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.errors import ValidationFailed
from boxoffice.events.caching import public_event_changed
from boxoffice.events.errors import CapacityBelowCommitted, EventCancelled, EventHasNoTicketTypes
from boxoffice.events.models import Event, EventStatus
from boxoffice.notifications import notices
from boxoffice.search.indexer import index_event
from boxoffice.ticketing.service import count_ticket_types

VENUE_COLUMNS = {
    "name": "venue_name",
    "address": "venue_address",
    "city": "city",
    "country": "country",
    "lat": "lat",
    "lon": "lon",
}


def _venue_columns(venue: dict[str, Any] | None) -> dict[str, Any]:
    if venue is None:
        return dict.fromkeys(VENUE_COLUMNS.values())
    return {column: venue.get(key) for key, column in VENUE_COLUMNS.items()}


async def event_changed(session: AsyncSession, event_id: uuid.UUID) -> None:
    """After a change to an event or its ticket types: the search index follows in this
    transaction, the cached public pages after it commits."""
    await index_event(session, event_id)
    public_event_changed(session, event_id)


def _check_event(event: Event) -> None:
    # No venue and no online_url is allowed: the location is still to be announced.
    if event.ends_at <= event.starts_at:
        raise ValidationFailed("ends_at", "must be after starts_at")


async def _resize(session: AsyncSession, event: Event, capacity: int | None) -> None:
    """Change the shared capacity; conditional on the live counters, so a sale racing this
    change cannot be undercut (409 below sold + held)."""
    if capacity is not None:
        resized = await session.execute(
            update(Event)
            .where(Event.id == event.id, Event.sold + Event.held <= capacity)
            .values(capacity=capacity)
            .execution_options(synchronize_session=False)
        )
        if resized.rowcount != 1:  # type: ignore[attr-defined]
            await session.refresh(event)
            committed = event.sold + event.held
            raise CapacityBelowCommitted(
                f"{committed} seats are sold or held; capacity must be at least {committed}"
            )
    else:
        await session.execute(
            update(Event)
            .where(Event.id == event.id)
            .values(capacity=None)
            .execution_options(synchronize_session=False)
        )
    await session.refresh(event)


async def create_event(
    session: AsyncSession, *, organization_id: uuid.UUID, fields: dict[str, Any], now: datetime
) -> Event:
    venue = fields.pop("venue", None)
    online_url = fields.pop("online_url", None)
    event = Event(
        organization_id=organization_id,
        status=EventStatus.DRAFT,
        online_url=str(online_url) if online_url else None,
        created_at=now,
        updated_at=now,
        **_venue_columns(venue),
        **fields,
    )
    _check_event(event)
    session.add(event)
    await session.flush()
    return event


async def update_event(
    session: AsyncSession, *, event: Event, changes: dict[str, Any], now: datetime
) -> Event:
    if event.status is EventStatus.CANCELLED:
        raise EventCancelled("a cancelled event cannot be changed")
    if "capacity" in changes:
        await _resize(session, event, changes.pop("capacity"))
    before = _attendee_facing(event)
    for name, value in changes.items():
        if name == "venue":
            for column, column_value in _venue_columns(value).items():
                setattr(event, column, column_value)
        elif name == "online_url":
            event.online_url = str(value) if value else None
        elif value is None:
            raise ValidationFailed(name, "cannot be null")
        else:
            setattr(event, name, value)
    _check_event(event)
    event.updated_at = now
    event.version += 1
    await session.flush()
    await event_changed(session, event.id)
    if event.status is EventStatus.PUBLISHED:
        await _tell_holders_of_changes(session, event, before)
    return event


def _attendee_facing(event: Event) -> dict[str, Any]:
    """What ticket holders are told about when it changes: the time and the place."""
    venue = ", ".join(part for part in (event.venue_name, event.venue_address, event.city) if part)
    return {
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "venue": venue or None,
        "online_url": event.online_url,
    }


async def _tell_holders_of_changes(
    session: AsyncSession, event: Event, before: dict[str, Any]
) -> None:
    after = _attendee_facing(event)
    changes = {name: [before[name], after[name]] for name in after if before[name] != after[name]}
    if changes:
        await notices.announce(
            session,
            kind=notices.EVENT_CHANGED,
            event_id=event.id,
            notice_key=f"event-changed:{event.id}:v{event.version}",
            details={"changes": changes},
        )


async def publish_event(session: AsyncSession, *, event: Event, now: datetime) -> Event:
    if event.status is EventStatus.PUBLISHED:
        return event
    if event.status is EventStatus.CANCELLED:
        raise EventCancelled("a cancelled event cannot be published")
    if await count_ticket_types(session, event.id) == 0:
        raise EventHasNoTicketTypes("add a ticket type first")
    event.status = EventStatus.PUBLISHED
    event.published_at = now
    event.updated_at = now
    event.version += 1
    await session.flush()
    await event_changed(session, event.id)
    return event


async def cancel_event(session: AsyncSession, *, event: Event, now: datetime) -> Event:
    """Cancel (the route has cancelled the orders first); every holder gets one notice."""
    if event.status is EventStatus.CANCELLED:
        return event
    if event.status is EventStatus.PUBLISHED:
        await notices.announce(
            session,
            kind=notices.EVENT_CANCELLED,
            event_id=event.id,
            notice_key=f"event-cancelled:{event.id}",
        )
    event.status = EventStatus.CANCELLED
    event.cancelled_at = now
    event.updated_at = now
    event.version += 1
    await session.flush()
    await event_changed(session, event.id)
    return event


async def list_organization_events(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    status: EventStatus | None,
    limit: int,
    after: tuple[Any, ...] | None,
) -> tuple[list[Event], tuple[Any, ...] | None]:
    query = select(Event).where(Event.organization_id == organization_id)
    if status is not None:
        query = query.where(Event.status == status)
    if after is not None:
        query = query.where(tuple_(Event.starts_at, Event.id) > tuple_(*after))
    rows = list(await session.scalars(query.order_by(Event.starts_at, Event.id).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], (last.starts_at, last.id)
