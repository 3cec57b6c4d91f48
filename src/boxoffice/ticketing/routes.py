"""/events/{id}/ticket-types and /ticket-types/{id}."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from starlette.responses import Response

from boxoffice.core.errors import ValidationFailed
from boxoffice.core.http import PRIVATE_NO_CACHE, conditional_json, public_cache
from boxoffice.core.pagination import PageOf
from boxoffice.core.routing import API_PREFIX
from boxoffice.core.state import AppSettings
from boxoffice.core.timestamps import utcnow
from boxoffice.db.session import WriteSession
from boxoffice.events.access import EventAdmin, VisibleEvent
from boxoffice.events.models import Event, EventStatus
from boxoffice.ticketing import service
from boxoffice.ticketing.access import TicketTypeAdmin
from boxoffice.ticketing.inventory import capped
from boxoffice.ticketing.models import TicketType
from boxoffice.ticketing.schemas import TicketTypeCreate, TicketTypeRead, TicketTypeUpdate

router = APIRouter(prefix=API_PREFIX, tags=["ticket types"])


def _read(ticket_type: TicketType, event: Event) -> TicketTypeRead:
    read = TicketTypeRead.model_validate(ticket_type)
    read.available = capped(ticket_type, event)
    return read


@router.post(
    "/events/{event_id}/ticket-types",
    status_code=status.HTTP_201_CREATED,
    summary="Add a ticket type to an event (admin+)",
    responses={409: {"description": "The event is cancelled"}},
)
async def create_ticket_type(
    body: TicketTypeCreate, access: EventAdmin, session: WriteSession
) -> TicketTypeRead:
    ticket_type = await service.create_ticket_type(
        session, event=access.event, fields=body.model_dump(), now=utcnow()
    )
    return _read(ticket_type, access.event)


@router.get(
    "/events/{event_id}/ticket-types",
    summary="An event's ticket types with seats available (public when published)",
    response_model=PageOf[TicketTypeRead],
)
async def list_ticket_types(
    request: Request, event: VisibleEvent, session: WriteSession, settings: AppSettings
) -> Response:
    ticket_types = await service.list_ticket_types(session, event.id)
    items = [_read(t, event).model_dump(mode="json") for t in ticket_types]
    cache_control = (
        public_cache(min(settings.public_cache_max_age, 5))
        if event.status is EventStatus.PUBLISHED
        else PRIVATE_NO_CACHE
    )
    return conditional_json(
        request, {"data": items, "next_cursor": None}, cache_control=cache_control
    )


@router.patch(
    "/ticket-types/{ticket_type_id}",
    summary="Change a ticket type (admin+); quantity never drops below sold + held",
    responses={409: {"description": "Quantity below sold + held, or the event is cancelled"}},
)
async def update_ticket_type(
    body: TicketTypeUpdate, access: TicketTypeAdmin, session: WriteSession
) -> TicketTypeRead:
    changes = body.model_dump(exclude_unset=True)
    for name in ("name", "price_amount", "currency", "quantity", "max_per_order"):
        if name in changes and changes[name] is None:
            raise ValidationFailed(name, "cannot be null")
    ticket_type = await service.update_ticket_type(
        session, ticket_type=access.ticket_type, event=access.event, changes=changes, now=utcnow()
    )
    return _read(ticket_type, access.event)
