"""Stripe: one PaymentIntent per order, authorized first and captured once the seats are sure.

``capture_method=manual`` means the buyer's card is only *authorized* when they pay; the
webhook ``payment_intent.amount_capturable_updated`` then confirms the order — taking the seats
again if the hold lapsed meanwhile — and captures. When the seats are gone, the authorization
is voided (cancelled), so a late buyer is never charged at all. Every call carries an
idempotency key derived from the order, so retries never create a second PaymentIntent.

stripe-python's client is synchronous; calls run in a worker thread off the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

import stripe

from boxoffice.config import Settings
from boxoffice.payments.providers import (
    PaymentAttempt,
    PaymentOutcome,
    PaymentState,
    idempotency_key,
)
from boxoffice.ticketing.errors import PaymentProviderUnavailable


class StripeProvider:
    name = "stripe"

    def __init__(self, settings: Settings) -> None:
        options: dict[str, Any] = {"max_network_retries": 2}
        if settings.stripe_api_base:
            options["base_addresses"] = {"api": settings.stripe_api_base}
        self.client = stripe.StripeClient(api_key=settings.stripe_secret_key, **options)
        self.webhook_secret = settings.stripe_webhook_secret

    async def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(function, *args, **kwargs)
        except stripe.StripeError as exc:
            raise PaymentProviderUnavailable(f"Stripe: {exc.user_message or exc}") from exc

    async def pay(self, attempt: PaymentAttempt, method: dict[str, Any]) -> PaymentOutcome:
        """Create (or, on a retry, get back) the order's PaymentIntent; the buyer completes it
        with the returned client secret (Stripe.js)."""
        intent = await self._call(
            self.client.v1.payment_intents.create,
            params={
                "amount": attempt.amount,
                "currency": attempt.currency.lower(),
                "capture_method": "manual",
                "metadata": {"order_id": str(attempt.order_id)},
                "automatic_payment_methods": {"enabled": True},
            },
            options={"idempotency_key": idempotency_key(attempt.order_id, "create")},
        )
        return PaymentOutcome(
            PaymentState.REQUIRES_ACTION, reference=intent.id, client_secret=intent.client_secret
        )

    async def capture(self, attempt: PaymentAttempt) -> None:
        assert attempt.reference is not None
        await self._call(
            self.client.v1.payment_intents.capture,
            attempt.reference,
            options={"idempotency_key": idempotency_key(attempt.order_id, "capture")},
        )

    async def void(self, attempt: PaymentAttempt) -> None:
        if attempt.reference is None:
            return
        await self._call(
            self.client.v1.payment_intents.cancel,
            attempt.reference,
            options={"idempotency_key": idempotency_key(attempt.order_id, "void")},
        )

    async def refund(self, attempt: PaymentAttempt) -> None:
        if attempt.reference is None:
            return
        await self._call(
            self.client.v1.refunds.create,
            params={"payment_intent": attempt.reference},
            options={"idempotency_key": idempotency_key(attempt.order_id, "refund")},
        )

    def verify(self, payload: bytes, signature: str) -> dict[str, Any]:
        """The event, if the ``Stripe-Signature`` header is valid for our endpoint secret."""
        event = stripe.Webhook.construct_event(payload, signature, self.webhook_secret)
        result: dict[str, Any] = event.to_dict()
        return result
