"""Orders: buy (hold seats), pay, see, cancel; the organizer's list of an event's orders."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select
from starlette.responses import Response

from boxoffice.core.errors import ValidationFailed
from boxoffice.core.idempotency import Idempotency
from boxoffice.core.json import JSONBytesResponse
from boxoffice.core.pagination import Page, PageOf, page_envelope
from boxoffice.core.routing import API_PREFIX
from boxoffice.core.state import AppSettings, Payments
from boxoffice.core.timestamps import utcnow
from boxoffice.db.session import WriteSession
from boxoffice.events.access import EventAdmin
from boxoffice.organizations.models import Role
from boxoffice.payments.providers import PaymentProvider
from boxoffice.ticketing import orders
from boxoffice.ticketing.access import Buyer, OrderBuyer, OrderBuyerOrAdmin
from boxoffice.ticketing.models import Order, OrderStatus
from boxoffice.ticketing.schemas import OrderCreate, OrderRead, PayBody

router = APIRouter(prefix=API_PREFIX, tags=["orders"])


@router.post(
    "/events/{event_id}/orders",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderRead,
    summary="Buy tickets: hold seats until expires_at (free orders confirm at once)",
    responses={
        409: {"description": "`sold-out` (names the ticket type) or the event is cancelled"},
        422: {"description": "Outside the sales window, over max_per_order, bad promo_code"},
    },
)
async def create_order(
    claim: Idempotency,
    body: OrderCreate,
    buyer: Buyer,
    session: WriteSession,
    settings: AppSettings,
) -> Response:
    event, claims = buyer
    now = utcnow()
    view = await orders.create_order(
        session,
        event=event,
        user_id=claims.user_id,
        lines=[orders.Line(item.ticket_type_id, item.quantity) for item in body.items],
        promo_code=body.promo_code,
        now=now,
        hold=timedelta(seconds=settings.order_hold_seconds),
        offer_for=timedelta(seconds=settings.waitlist_offer_seconds),
        guarded=not settings.unsafe_inventory_for_tests,
        idempotency_record_id=claim.record_id,
    )
    if view.stored_response is not None:
        return claim.stored_response(view.stored_response, status_code=201)
    return await claim.respond(session, orders.order_document(view), status_code=201)


@router.get(
    "/orders/{order_id}",
    response_model=OrderRead,
    summary="An order (its buyer, or admins of the organizing organization)",
)
async def get_order(access: OrderBuyerOrAdmin, session: WriteSession) -> Response:
    view = await orders.load_view(session, access.order)
    return JSONBytesResponse(orders.order_document(view))


@router.post(
    "/orders/{order_id}/pay",
    response_model=OrderRead,
    summary="Pay a pending order (the buyer); confirmed with tickets, or a Stripe client secret",
    responses={
        402: {"description": "The card was declined; the order stays pending until it expires"},
        409: {"description": "The hold expired, or the order is not pending"},
    },
)
async def pay_order(
    claim: Idempotency,
    body: PayBody,
    access: OrderBuyer,
    session: WriteSession,
    payments: Payments,
) -> Response:
    order = access.order
    method = body.payment_method
    provider: PaymentProvider
    if order.total_amount == 0:
        provider = payments.free
    else:
        provider = payments.for_new_payment()
        expected = "stripe" if provider.name == "stripe" else "test_card"
        if method is None:
            raise ValidationFailed("payment_method", f"required; type {expected!r}")
        if method.type != expected:
            raise ValidationFailed("payment_method.type", f"this platform takes {expected!r}")
        if method.type == "test_card" and not method.number:
            raise ValidationFailed("payment_method.number", "required for a test card")
    view = await orders.pay(
        session,
        order=order,
        provider=provider,
        method=method.model_dump() if method else {},
        now=utcnow(),
    )
    return await claim.respond(session, orders.order_document(view))


@router.post(
    "/orders/{order_id}/cancel",
    response_model=OrderRead,
    summary="Cancel an order (the buyer before the event starts, or an organization admin)",
    responses={409: {"description": "Already cancelled or expired, or the event has started"}},
)
async def cancel_order(
    claim: Idempotency,
    access: OrderBuyerOrAdmin,
    session: WriteSession,
    payments: Payments,
    settings: AppSettings,
) -> Response:
    order = access.order
    # Admins of the organization may cancel at any time; everyone else (buyers, including
    # staff buying for themselves) only until the event starts.
    by_buyer = not (access.role is not None and access.role.includes(Role.ADMIN))
    view = await orders.cancel(
        session,
        order=order,
        provider=payments.named(order.payment_provider),
        now=utcnow(),
        reason="cancelled by the buyer" if access.is_buyer else "cancelled by the organizer",
        before=access.event.starts_at if by_buyer else None,
        offer_for=timedelta(seconds=settings.waitlist_offer_seconds),
    )
    return await claim.respond(session, orders.order_document(view))


StatusFilter = Annotated[OrderStatus | None, Query(description="Only orders in this status")]


@router.get(
    "/events/{event_id}/orders",
    response_model=PageOf[OrderRead],
    summary="An event's orders, newest first (admin+)",
)
async def list_event_orders(
    access: EventAdmin, session: WriteSession, page: Page, status: StatusFilter = None
) -> Response:
    query = select(Order).where(Order.event_id == access.event.id)
    if status is not None:
        query = query.where(Order.status == status)
    items, next_cursor = await orders.newest_first_page(session, query, page)
    return JSONBytesResponse(page_envelope(items, next_cursor))
