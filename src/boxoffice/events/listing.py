"""The public event listing: its query parameters, validated once, and its rendered page."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.errors import ValidationFailed
from boxoffice.core.json import dumps
from boxoffice.core.pagination import Page, decode_key, encode_key, page_envelope
from boxoffice.core.schemas import has_control_characters
from boxoffice.core.timestamps import Timestamp, parse_aware_iso
from boxoffice.events.documents import event_document, select_fields
from boxoffice.events.models import Event
from boxoffice.events.schemas import EVENT_FIELDS, EventSort
from boxoffice.search import service as search
from boxoffice.search.filters import EventFilters
from boxoffice.search.text import parse_query
from boxoffice.ticketing.service import summaries

# How each sort's cursor key is read back.
KEY_CONVERTERS: dict[str, list[Callable[[Any], Any]]] = {
    "starts_at": [parse_aware_iso, uuid.UUID],
    "relevance": [float, parse_aware_iso, uuid.UUID],
    "distance": [float, uuid.UUID],
}


@dataclass(frozen=True, slots=True)
class EventListingQuery:
    filters: EventFilters
    fields: frozenset[str] | None
    limit: int
    after: tuple[Any, ...] | None


def _parse_fields(fields: str | None) -> frozenset[str] | None:
    if not fields:
        return None
    wanted = frozenset(name.strip() for name in fields.split(",") if name.strip())
    unknown = wanted - EVENT_FIELDS
    if unknown:
        raise ValidationFailed("fields", f"unknown field(s): {', '.join(sorted(unknown))}")
    return wanted


async def event_filters(
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description='Words to look for; "quoted phrases" and -exclusions work',
        ),
    ] = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    city: Annotated[str | None, Query(max_length=120)] = None,
    starts_after: Annotated[Timestamp | None, Query()] = None,
    starts_before: Annotated[Timestamp | None, Query()] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    radius_km: Annotated[float | None, Query(gt=0, le=20_000)] = None,
    free: Annotated[bool | None, Query(description="Only events with a free ticket")] = None,
    available: Annotated[
        bool | None, Query(description="true: tickets left; false: sold out")
    ] = None,
    organization_id: Annotated[uuid.UUID | None, Query()] = None,
    sort: Annotated[EventSort | None, Query()] = None,
) -> EventFilters:
    if (lat is None) != (lon is None):
        raise ValidationFailed("lon" if lon is None else "lat", "lat and lon go together")
    if radius_km is not None and lat is None:
        raise ValidationFailed("radius_km", "needs lat and lon")
    for name, text in (("q", q), ("city", city), ("category", category)):
        if text and has_control_characters(text):
            raise ValidationFailed(name, "must not contain control characters")
    parsed = parse_query(q) if q else None
    if parsed is not None and parsed.is_empty:
        parsed = None  # nothing but punctuation or operators: no text condition
    chosen_sort = sort or ("relevance" if parsed else "starts_at")
    if chosen_sort == "relevance" and not parsed:
        chosen_sort = "starts_at"
    return EventFilters(
        query=parsed,
        category=category.strip().lower() if category else None,
        city=city,
        starts_after=starts_after,
        starts_before=starts_before,
        organization_id=organization_id,
        free=free,
        available=available,
        near=(lat, lon) if lat is not None and lon is not None else None,
        radius_km=radius_km,
        sort=chosen_sort,
    )


Filters = Annotated[EventFilters, Depends(event_filters)]


async def listing_query(
    page: Page,
    filters: Filters,
    fields: Annotated[str | None, Query(max_length=500, description="e.g. id,title")] = None,
) -> EventListingQuery:
    return EventListingQuery(
        filters=filters,
        fields=_parse_fields(fields),
        limit=page.limit,
        after=decode_key(page.cursor, KEY_CONVERTERS[filters.sort]),
    )


ListingQuery = Annotated[EventListingQuery, Depends(listing_query)]


async def render_listing(
    session: AsyncSession, query: EventListingQuery, *, now: datetime
) -> bytes:
    """One page of the listing as response bytes (what the cache stores)."""
    hits, last_key = await search.search_events(
        session, filters=query.filters, limit=query.limit, after=query.after, now=now
    )
    ids = [hit.event_id for hit in hits]
    events = {
        event.id: event for event in await session.scalars(select(Event).where(Event.id.in_(ids)))
    }
    inventory = await summaries(session, ids)
    items = [
        select_fields(
            event_document(
                events[hit.event_id], inventory.get(hit.event_id), distance_km=hit.distance_km
            ),
            query.fields,
        )
        for hit in hits
        if hit.event_id in events
    ]
    next_cursor = encode_key(last_key) if last_key else None
    return dumps(page_envelope(items, next_cursor))
