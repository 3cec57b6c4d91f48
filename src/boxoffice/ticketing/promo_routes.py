"""Promo codes of an event (admin+)."""

from __future__ import annotations

from fastapi import APIRouter, status
from starlette.responses import Response

from boxoffice.core.json import JSONBytesResponse
from boxoffice.core.pagination import PageOf, page_envelope
from boxoffice.core.routing import API_PREFIX
from boxoffice.core.timestamps import utcnow
from boxoffice.db.session import WriteSession
from boxoffice.events.access import EventAdmin
from boxoffice.ticketing import promos
from boxoffice.ticketing.schemas import PromoCodeCreate, PromoCodeRead

router = APIRouter(prefix=API_PREFIX, tags=["promo codes"])


@router.post(
    "/events/{event_id}/promo-codes",
    status_code=status.HTTP_201_CREATED,
    response_model=PromoCodeRead,
    summary="Create a promo code for an event (admin+)",
    responses={409: {"description": "The event already has this code"}},
)
async def create_promo_code(
    body: PromoCodeCreate, access: EventAdmin, session: WriteSession
) -> Response:
    promo = await promos.create(session, event=access.event, fields=body.model_dump(), now=utcnow())
    return JSONBytesResponse(promos.promo_document(promo), status_code=201)


@router.get(
    "/events/{event_id}/promo-codes",
    response_model=PageOf[PromoCodeRead],
    summary="An event's promo codes with their uses (admin+)",
)
async def list_promo_codes(access: EventAdmin, session: WriteSession) -> Response:
    codes = await promos.list_for_event(session, access.event.id)
    return JSONBytesResponse(page_envelope([promos.promo_document(c) for c in codes], None))
