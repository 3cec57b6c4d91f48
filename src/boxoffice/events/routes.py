"""/events: organizer writes, public reads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from boxoffice.config import Settings
from boxoffice.core.access import public
from boxoffice.core.cache import Cache, read_through
from boxoffice.core.errors import ValidationFailed
from boxoffice.core.http import PRIVATE_NO_CACHE, conditional_json, public_cache
from boxoffice.core.ids import parse_id
from boxoffice.core.json import JSONBytesResponse, dumps
from boxoffice.core.pagination import Page, PageOf, decode_key, encode_key, page_envelope
from boxoffice.core.routing import API_PREFIX
from boxoffice.core.schemas import has_control_characters
from boxoffice.core.state import AppSettings, Payments, PublicCache
from boxoffice.core.timestamps import utcnow
from boxoffice.db.session import ReadSession, WriteSession
from boxoffice.events import service
from boxoffice.events.access import EventAdmin, EventId, EventViewer, members_only_event
from boxoffice.events.caching import (
    CATALOG,
    event_cache_key,
    event_topic,
    facets_cache_key,
    listing_cache_key,
    suggest_cache_key,
)
from boxoffice.events.categories import CATEGORIES
from boxoffice.events.documents import event_document
from boxoffice.events.errors import EventNotFound
from boxoffice.events.listing import KEY_CONVERTERS, Filters, ListingQuery, render_listing
from boxoffice.events.models import Event, EventStatus
from boxoffice.events.schemas import EventCreate, EventRead, EventUpdate, parse_zone
from boxoffice.organizations.access import OrgAdmin, OrgStaff
from boxoffice.search import service as search
from boxoffice.search.schemas import Facets, Suggestion
from boxoffice.ticketing.orders import cancel_open_orders
from boxoffice.ticketing.service import summaries

router = APIRouter(prefix=API_PREFIX, tags=["events"])


async def _catalog_response(
    request: Request,
    cache: Cache,
    settings: Settings,
    *,
    key: str,
    compute: Callable[[], Awaitable[bytes]],
) -> Response:
    """A public catalogue answer (listing, facets, suggestions) through the response cache."""
    body = await read_through(
        cache,
        topic=CATALOG,
        key=key,
        ttl_seconds=settings.listing_cache_ttl_seconds,
        compute=compute,
    )
    assert body is not None
    return conditional_json(
        request, body, cache_control=public_cache(settings.public_cache_max_age)
    )


async def _event_read(session: AsyncSession, event: Event) -> EventRead:
    inventory = await summaries(session, [event.id])
    return EventRead.model_validate(event_document(event, inventory.get(event.id)))


@router.post(
    "/organizations/{org_id}/events",
    status_code=status.HTTP_201_CREATED,
    summary="Create a draft event (admin+)",
)
async def create_event(body: EventCreate, access: OrgAdmin, session: WriteSession) -> EventRead:
    fields = body.model_dump(exclude_unset=False)
    event = await service.create_event(
        session, organization_id=access.organization_id, fields=fields, now=utcnow()
    )
    return EventRead.model_validate(event_document(event, None))


@router.get(
    "/organizations/{org_id}/events",
    summary="The organization's events in every status (members)",
    response_model=PageOf[EventRead],
)
async def list_organization_events(
    access: OrgStaff,
    page: Page,
    session: WriteSession,
    status_filter: Annotated[EventStatus | None, Query(alias="status")] = None,
) -> Response:
    events, last_key = await service.list_organization_events(
        session,
        organization_id=access.organization_id,
        status=status_filter,
        limit=page.limit,
        after=decode_key(page.cursor, KEY_CONVERTERS["starts_at"]),
    )
    inventory = await summaries(session, (event.id for event in events))
    items = [event_document(event, inventory.get(event.id)) for event in events]
    next_cursor = encode_key(last_key) if last_key else None
    return JSONBytesResponse(page_envelope(items, next_cursor))


@router.get(
    "/events",
    dependencies=[Depends(public)],
    summary="Discover published events",
    response_model=PageOf[EventRead],
)
async def list_events(
    request: Request,
    query: ListingQuery,
    session: ReadSession,
    settings: AppSettings,
    cache: PublicCache,
) -> Response:
    return await _catalog_response(
        request,
        cache,
        settings,
        key=listing_cache_key(request.query_params.multi_items()),
        compute=lambda: render_listing(session, query, now=utcnow()),
    )


@router.get(
    "/events/suggest",
    dependencies=[Depends(public)],
    summary="Type-ahead: event titles, cities and categories for a few typed letters",
    response_model=PageOf[Suggestion],
)
async def suggest_events(
    request: Request,
    q: Annotated[str, Query(max_length=200, description="What has been typed so far")],
    session: ReadSession,
    settings: AppSettings,
    cache: PublicCache,
) -> Response:
    if has_control_characters(q):
        raise ValidationFailed("q", "must not contain control characters")

    async def compute() -> bytes:
        return dumps({"data": await search.suggest(session, q), "next_cursor": None})

    return await _catalog_response(
        request, cache, settings, key=suggest_cache_key(q), compute=compute
    )


@router.get(
    "/events/facets",
    dependencies=[Depends(public)],
    summary="Counts per category, city and date bucket for the same filters as GET /events",
    response_model=Facets,
)
async def event_facets(
    request: Request,
    filters: Filters,
    session: ReadSession,
    settings: AppSettings,
    cache: PublicCache,
    timezone: Annotated[
        str, Query(max_length=64, description="IANA zone that 'today' and 'this weekend' use")
    ] = "UTC",
) -> Response:
    zone = parse_zone(timezone, field="timezone")

    async def compute() -> bytes:
        return dumps(await search.facets(session, filters=filters, now=utcnow(), zone=zone))

    return await _catalog_response(
        request,
        cache,
        settings,
        key=facets_cache_key(request.query_params.multi_items()),
        compute=compute,
    )


@router.get(
    "/events/{event_id}",
    summary="An event: public when published, otherwise members only",
    response_model=EventRead,
)
async def get_event(
    request: Request,
    event_id: EventId,
    viewer: EventViewer,
    replica: ReadSession,
    primary: WriteSession,
    settings: AppSettings,
    cache: PublicCache,
) -> Response:
    parsed = parse_id(event_id, EventNotFound())

    async def render_if_public() -> bytes | None:
        event = await replica.get(Event, parsed)
        if event is None or event.status is not EventStatus.PUBLISHED:
            return None
        inventory = await summaries(replica, [event.id])
        return dumps(event_document(event, inventory.get(event.id)))

    body = await read_through(
        cache,
        topic=event_topic(parsed),
        key=event_cache_key(parsed),
        ttl_seconds=settings.event_cache_ttl_seconds,
        compute=render_if_public,
    )
    if body is not None:
        return conditional_json(
            request, body, cache_control=public_cache(settings.public_cache_max_age)
        )
    event = await members_only_event(primary, parsed, viewer)
    inventory = await summaries(primary, [event.id])
    return conditional_json(
        request, event_document(event, inventory.get(event.id)), cache_control=PRIVATE_NO_CACHE
    )


@router.patch(
    "/events/{event_id}",
    summary="Change an event (admin+)",
    responses={409: {"description": "The event is cancelled"}},
)
async def update_event(body: EventUpdate, access: EventAdmin, session: WriteSession) -> EventRead:
    changes = body.model_dump(exclude_unset=True)
    event = await service.update_event(session, event=access.event, changes=changes, now=utcnow())
    return await _event_read(session, event)


@router.post(
    "/events/{event_id}/publish",
    summary="Publish a draft (admin+; needs at least one ticket type)",
    responses={409: {"description": "No ticket type yet, or the event is cancelled"}},
)
async def publish_event(access: EventAdmin, session: WriteSession) -> EventRead:
    event = await service.publish_event(session, event=access.event, now=utcnow())
    return await _event_read(session, event)


@router.post(
    "/events/{event_id}/cancel",
    summary="Cancel an event (admin+): every open order is cancelled and refunded",
)
async def cancel_event(access: EventAdmin, session: WriteSession, payments: Payments) -> EventRead:
    now = utcnow()
    # Orders first (their rows, then seats), then the event's status; a second pass catches an
    # order committed in between — after the status change no sale can succeed any more.
    await cancel_open_orders(session, event_id=access.event.id, payments=payments, now=now)
    event = await service.cancel_event(session, event=access.event, now=now)
    await cancel_open_orders(session, event_id=event.id, payments=payments, now=now)
    return await _event_read(session, event)


@router.get(
    "/categories",
    dependencies=[Depends(public)],
    summary="The event categories",
    response_model=PageOf[str],
)
async def list_categories(request: Request, settings: AppSettings) -> Response:
    return conditional_json(
        request,
        {"data": list(CATEGORIES), "next_cursor": None},
        cache_control=public_cache(3600),
    )
