"""POST /payments/stripe/webhook: Stripe's signed events."""

from __future__ import annotations

from datetime import timedelta

import stripe
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from boxoffice.core.access import access_policy
from boxoffice.core.errors import NotFound, Problem
from boxoffice.core.json import JSONBytesResponse
from boxoffice.core.routing import API_PREFIX
from boxoffice.core.state import AppSettings, Payments
from boxoffice.core.timestamps import utcnow
from boxoffice.db.session import WriteSession
from boxoffice.observability.logging import get_logger
from boxoffice.payments.webhooks import handle_stripe_event

router = APIRouter(prefix=API_PREFIX, tags=["payments"])
_log = get_logger("boxoffice.payments")


class BadSignature(Problem):
    status = 400
    slug = "bad-signature"
    title = "The webhook signature does not verify"


class StripeNotConfigured(NotFound):
    slug = "stripe-not-configured"
    title = "Stripe is not configured on this platform"


@access_policy("stripe-signature")
async def stripe_signed(request: Request) -> None:
    """Anyone may call; only a body signed with our webhook secret has any effect."""


@router.post(
    "/payments/stripe/webhook",
    summary="Stripe webhook (signed with the endpoint secret); replays are no-ops",
    dependencies=[Depends(stripe_signed)],
    responses={
        400: {"description": "Missing or bad Stripe-Signature"},
        404: {"description": "Stripe is not configured"},
    },
)
async def stripe_webhook(
    request: Request, session: WriteSession, payments: Payments, settings: AppSettings
) -> Response:
    provider = payments.stripe
    if provider is None or not settings.stripe_webhook_secret:
        raise StripeNotConfigured()
    payload = await request.body()
    signature = request.headers.get("stripe-signature", "")
    try:
        event = provider.verify(payload, signature)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise BadSignature(str(exc)[:200]) from None
    outcome = await handle_stripe_event(
        session,
        provider=provider,
        event=event,
        now=utcnow(),
        offer_for=timedelta(seconds=settings.waitlist_offer_seconds),
    )
    _log.info("stripe event", event_id=event.get("id"), type=event.get("type"), outcome=outcome)
    return JSONBytesResponse({"received": True, "outcome": outcome})
