"""Stripe webhook events → order changes, each applied at most once.

A ``payment_provider_events`` row per Stripe event id is inserted in the same transaction as
the event's effects: a replay (Stripe retries, an attacker resends a captured event) finds the
row and changes nothing; a failure rolls both back so Stripe's retry applies it again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.events.models import Event, EventStatus
from boxoffice.payments.models import ProviderEvent
from boxoffice.payments.providers import PaymentAttempt, PaymentOutcome, PaymentState
from boxoffice.payments.stripe import StripeProvider
from boxoffice.ticketing import orders
from boxoffice.ticketing.models import Order, OrderStatus, PaymentStatus

LATE_AND_GONE = "the payment arrived after the hold expired and the seats were taken"
LATE_AND_CANCELLED = "the payment arrived after the hold expired and the event was cancelled"
PAYMENT_EVENTS = (
    "payment_intent.amount_capturable_updated",
    "payment_intent.succeeded",
)


async def handle_stripe_event(
    session: AsyncSession,
    *,
    provider: StripeProvider,
    event: dict[str, Any],
    now: datetime,
    offer_for: timedelta,
) -> str:
    """Apply one verified event; returns what was done (for the response and the logs)."""
    try:
        async with session.begin_nested():
            session.add(
                ProviderEvent(
                    provider="stripe",
                    event_id=str(event["id"]),
                    type=str(event.get("type", "")),
                    received_at=now,
                )
            )
            await session.flush()
    except IntegrityError:
        return "replay"
    kind = str(event.get("type", ""))
    obj: dict[str, Any] = event.get("data", {}).get("object", {})
    if kind in PAYMENT_EVENTS:
        return await _paid(
            session, provider, obj, captured=obj.get("status") == "succeeded", now=now
        )
    if kind == "payment_intent.payment_failed":
        order = await _order_for(session, obj.get("id"))
        return "failed-noted" if order is not None else "unknown-order"
    if kind == "charge.refunded":
        return await _refunded(session, provider, obj, now=now, offer_for=offer_for)
    return "ignored"


async def _order_for(session: AsyncSession, payment_intent_id: Any) -> Order | None:
    if not isinstance(payment_intent_id, str):
        return None
    return await session.scalar(
        select(Order)
        .where(Order.payment_reference == payment_intent_id)
        .with_for_update(key_share=True)
    )


async def _paid(
    session: AsyncSession,
    provider: StripeProvider,
    intent: dict[str, Any],
    *,
    captured: bool,
    now: datetime,
) -> str:
    order = await _order_for(session, intent.get("id"))
    if order is None:
        return "unknown-order"
    attempt = PaymentAttempt(order.id, order.total_amount, order.currency, intent["id"])
    if order.status is OrderStatus.CONFIRMED:
        if not captured and order.payment_status is PaymentStatus.AUTHORIZED:
            await provider.capture(attempt)
            order.payment_status = PaymentStatus.CAPTURED
            await session.flush()
        return "already-confirmed"
    outcome = PaymentOutcome(PaymentState.CAPTURED, reference=intent["id"])
    if await orders.confirm_paid(
        session, order=order, provider=provider, outcome=outcome, now=now, late=True
    ):
        if not captured:
            # Authorized only: the seats are now certainly the buyer's, so take the money.
            order.payment_status = PaymentStatus.AUTHORIZED
            await session.flush()
            await provider.capture(attempt)
            order.payment_status = PaymentStatus.CAPTURED
            await session.flush()
        return "confirmed"
    # The seats are gone (or the buyer cancelled meanwhile): never keep the money.
    if captured:
        await provider.refund(attempt)
        order.payment_status = PaymentStatus.REFUNDED
    else:
        await provider.void(attempt)
        order.payment_status = PaymentStatus.VOIDED
    if order.status in (OrderStatus.PENDING, OrderStatus.EXPIRED):
        order.status = OrderStatus.CANCELLED
        order.cancelled_at = now
        event_status = await session.scalar(select(Event.status).where(Event.id == order.event_id))
        cancelled = event_status is EventStatus.CANCELLED
        order.cancel_reason = LATE_AND_CANCELLED if cancelled else LATE_AND_GONE
    order.updated_at = now
    await session.flush()
    return "released-payment"


async def _refunded(
    session: AsyncSession,
    provider: StripeProvider,
    charge: dict[str, Any],
    *,
    now: datetime,
    offer_for: timedelta,
) -> str:
    """A full refund made at Stripe (the dashboard, a dispute): the order is cancelled too."""
    order = await _order_for(session, charge.get("payment_intent"))
    if order is None:
        return "unknown-order"
    if not charge.get("refunded"):
        return "partial-refund-ignored"
    if order.status is OrderStatus.CONFIRMED:
        order.payment_status = PaymentStatus.REFUNDED  # already refunded: do not refund again
        await session.flush()
        await orders.cancel(
            session,
            order=order,
            provider=None,
            now=now,
            reason="refunded at Stripe",
            before=None,
            offer_for=offer_for,
        )
        return "cancelled"
    if order.payment_status is not PaymentStatus.REFUNDED:
        order.payment_status = PaymentStatus.REFUNDED
        order.updated_at = now
        await session.flush()
    return "noted"
