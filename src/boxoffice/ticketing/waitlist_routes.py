"""Waiting lists of sold-out ticket types (signed-in people)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, status
from starlette.responses import Response

from boxoffice.accounts.auth import SignedIn
from boxoffice.core.json import JSONBytesResponse
from boxoffice.core.pagination import PageOf, page_envelope
from boxoffice.core.routing import API_PREFIX
from boxoffice.core.state import AppSettings, Payments
from boxoffice.core.timestamps import utcnow
from boxoffice.db.session import WriteSession
from boxoffice.events.errors import EventCancelled
from boxoffice.events.models import EventStatus
from boxoffice.ticketing import orders, waitlist
from boxoffice.ticketing.access import WaitlistTicketType
from boxoffice.ticketing.models import Order, OrderStatus, WaitlistStatus
from boxoffice.ticketing.schemas import WaitlistJoin, WaitlistPlaceRead

router = APIRouter(prefix=API_PREFIX, tags=["waiting lists"])


@router.post(
    "/ticket-types/{ticket_type_id}/waitlist",
    status_code=status.HTTP_201_CREATED,
    response_model=WaitlistPlaceRead,
    summary="Join a sold-out ticket type's waiting list",
    responses={409: {"description": "Not sold out, or already on the list"}},
)
async def join_waitlist(
    body: WaitlistJoin, target: WaitlistTicketType, session: WriteSession
) -> Response:
    access, claims = target
    if access.event.status is EventStatus.CANCELLED:
        raise EventCancelled("the event is cancelled")
    place = await waitlist.join(
        session,
        ticket_type=access.ticket_type,
        event=access.event,
        user_id=claims.user_id,
        quantity=body.quantity,
        now=utcnow(),
    )
    return JSONBytesResponse(waitlist.place_document(place), status_code=201)


@router.delete(
    "/ticket-types/{ticket_type_id}/waitlist",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Leave a waiting list (an open offer is declined and passed on)",
    responses={404: {"description": "Not on this waiting list"}},
)
async def leave_waitlist(
    target: WaitlistTicketType,
    session: WriteSession,
    payments: Payments,
    settings: AppSettings,
) -> Response:
    access, claims = target
    entry = await waitlist.entry_of(
        session, ticket_type_id=access.ticket_type.id, user_id=claims.user_id
    )
    if entry.status is WaitlistStatus.OFFERED and entry.order_id is not None:
        order = await session.get(Order, entry.order_id)
        if order is not None and order.status is OrderStatus.PENDING:
            await orders.cancel(
                session,
                order=order,
                provider=payments.named(order.payment_provider),
                now=utcnow(),
                reason="waiting-list offer declined",
                before=None,
                offer_for=timedelta(seconds=settings.waitlist_offer_seconds),
            )
    await waitlist.leave(session, entry)
    return Response(status_code=204)


@router.get(
    "/me/waitlist",
    response_model=PageOf[WaitlistPlaceRead],
    summary="My places on waiting lists, with positions and offers",
)
async def my_waitlist(claims: SignedIn, session: WriteSession) -> Response:
    places = await waitlist.places_of(session, claims.user_id)
    return JSONBytesResponse(page_envelope([waitlist.place_document(p) for p in places], None))
