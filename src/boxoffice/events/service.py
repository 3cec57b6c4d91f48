"""Events: create, change, publish, cancel, and the public listing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    String,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.errors import ValidationFailed
from boxoffice.core.text import sql_lower
from boxoffice.events import geo
from boxoffice.events.caching import public_event_changed
from boxoffice.events.errors import EventCancelled, EventHasNoTicketTypes
from boxoffice.events.models import Event, EventStatus
from boxoffice.organizations.models import Organization
from boxoffice.ticketing.models import TicketType
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


def _check_event(event: Event) -> None:
    # No venue and no online_url is allowed: the location is still to be announced.
    if event.ends_at <= event.starts_at:
        raise ValidationFailed("ends_at", "must be after starts_at")


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
    public_event_changed(session, event.id)
    return event


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
    public_event_changed(session, event.id)
    return event


async def cancel_event(session: AsyncSession, *, event: Event, now: datetime) -> Event:
    """Cancel; orders, refunds and notices attach here when ticketing and jobs exist."""
    if event.status is EventStatus.CANCELLED:
        return event
    event.status = EventStatus.CANCELLED
    event.cancelled_at = now
    event.updated_at = now
    event.version += 1
    await session.flush()
    public_event_changed(session, event.id)
    return event


@dataclass(frozen=True, slots=True)
class EventFilters:
    q: str | None = None
    category: str | None = None
    city: str | None = None
    starts_after: datetime | None = None
    starts_before: datetime | None = None
    organization_id: uuid.UUID | None = None
    free: bool | None = None
    near: tuple[float, float] | None = None
    radius_km: float | None = None
    sort: str = "starts_at"


@dataclass(frozen=True, slots=True)
class EventHit:
    event: Event
    distance_km: float | None


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matches(dialect: str, pattern: str) -> ColumnElement[bool]:
    """Case-insensitive substring match over the event's text, venue and organizer.

    A placeholder until full-text search: it cannot use an index.
    """
    organizer = exists().where(
        Organization.id == Event.organization_id,
        sql_lower(dialect, Organization.name).like(pattern, escape="\\"),
    )
    return or_(
        sql_lower(dialect, Event.title).like(pattern, escape="\\"),
        sql_lower(dialect, Event.description).like(pattern, escape="\\"),
        sql_lower(dialect, Event.category).like(pattern, escape="\\"),
        sql_lower(dialect, cast(Event.tags, String)).like(pattern, escape="\\"),
        sql_lower(dialect, func.coalesce(Event.venue_name, "")).like(pattern, escape="\\"),
        sql_lower(dialect, func.coalesce(Event.city, "")).like(pattern, escape="\\"),
        organizer,
    )


def _public_query(dialect: str, filters: EventFilters, now: datetime) -> Select[Any]:
    query: Select[Any] = select(Event).where(Event.status == EventStatus.PUBLISHED)
    if filters.starts_after is None and filters.starts_before is None:
        query = query.where(Event.ends_at > now)
    if filters.starts_after is not None:
        query = query.where(Event.starts_at >= filters.starts_after)
    if filters.starts_before is not None:
        query = query.where(Event.starts_at < filters.starts_before)
    if filters.category:
        query = query.where(Event.category == filters.category)
    if filters.city:
        query = query.where(sql_lower(dialect, Event.city) == filters.city.lower())
    if filters.organization_id:
        query = query.where(Event.organization_id == filters.organization_id)
    if filters.free is not None:
        has_free = exists().where(TicketType.event_id == Event.id, TicketType.price_amount == 0)
        query = query.where(has_free if filters.free else ~has_free)
    if filters.q:
        query = query.where(_matches(dialect, _like(filters.q)))
    return query


def _sort_keys(
    dialect: str, filters: EventFilters, distance: ColumnElement[float] | None
) -> list[SQLColumnExpression[Any]]:
    if filters.sort == "distance":
        if distance is None:
            raise ValidationFailed("sort", "sort=distance needs lat and lon")
        return [distance, Event.id]
    if filters.sort == "relevance" and filters.q:
        # Until full-text ranking exists: events whose title matches come first.
        title_match = sql_lower(dialect, Event.title).like(_like(filters.q), escape="\\")
        return [case((title_match, 0), else_=1), Event.starts_at, Event.id]
    return [Event.starts_at, Event.id]


async def list_public_events(
    session: AsyncSession,
    *,
    filters: EventFilters,
    limit: int,
    after: tuple[Any, ...] | None,
    now: datetime,
) -> tuple[list[EventHit], tuple[Any, ...] | None]:
    """One page of published events and the sort key to continue after, if there is more.

    Keyset pagination on (sort value…, id): rows inserted during a walk never shift a page.
    Without a date filter the listing shows events that have not ended yet.
    """
    dialect = session.get_bind().dialect.name
    query = _public_query(dialect, filters, now)
    distance: ColumnElement[float] | None = None
    if filters.near is not None:
        distance = geo.distance_km(dialect, Event.lat, Event.lon, to=filters.near)
        if filters.radius_km is not None:
            box = geo.bounding_box(*filters.near, filters.radius_km)
            query = query.where(Event.lat.between(box.min_lat, box.max_lat))
            if not box.wraps:
                query = query.where(Event.lon.between(box.min_lon, box.max_lon))
            query = query.where(distance <= filters.radius_km)
        elif filters.sort == "distance":
            query = query.where(Event.lat.is_not(None))
    sort_keys = _sort_keys(dialect, filters, distance)
    query = query.add_columns(
        distance.label("distance_km") if distance is not None else literal(None),
        *[key.label(f"sort_{index}") for index, key in enumerate(sort_keys)],
    )
    if after is not None:
        query = query.where(tuple_(*sort_keys) > tuple_(*after))
    rows = (await session.execute(query.order_by(*sort_keys).limit(limit + 1))).all()
    hits = [EventHit(event=row[0], distance_km=row[1]) for row in rows[:limit]]
    if len(rows) <= limit:
        return hits, None
    return hits, tuple(rows[limit - 1][2:])


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
