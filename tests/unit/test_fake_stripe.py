"""The fake Stripe API speaks well enough for the real stripe-python client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Literal

import pytest
import stripe
from stripe.params import PaymentIntentCreateParams

from tests.support.fake_stripe import FakeStripe, parse_form, sign_webhook, signed_webhook

WEBHOOK_SECRET = "whsec_test_secret"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


@pytest.fixture
def client(server: FakeStripe) -> stripe.StripeClient:
    return server.client()


def _create(
    client: stripe.StripeClient, capture_method: Literal["automatic", "manual"] = "automatic"
) -> stripe.PaymentIntent:
    params: PaymentIntentCreateParams = {"amount": 2500, "currency": "EUR"}
    return client.v1.payment_intents.create(params={**params, "capture_method": capture_method})


def test_parse_form_nests_like_stripe_python_encodes() -> None:
    parsed = parse_form("amount=5&metadata[order_id]=o1&metadata[0]=x&expand[0]=a&expand[1]=b")
    assert parsed == {"amount": "5", "metadata": {"order_id": "o1", "0": "x"}, "expand": ["a", "b"]}


def test_create_is_idempotent(server: FakeStripe, client: stripe.StripeClient) -> None:
    params: PaymentIntentCreateParams = {
        "amount": 2500,
        "currency": "EUR",
        "metadata": {"order_id": "ord_1"},
    }
    options: stripe.RequestOptions = {"idempotency_key": "order-ord_1"}
    before = len(server.payment_intents)
    first = client.v1.payment_intents.create(params=params, options=options)
    again = client.v1.payment_intents.create(params=params, options=options)

    assert len(server.payment_intents) == before + 1
    assert first.id == again.id and first.id.startswith("pi_")
    assert first.client_secret is not None and first.client_secret.startswith(f"{first.id}_secret_")
    assert (first.currency, first.status, first.capture_method) == (
        "eur",
        "requires_payment_method",
        "automatic",
    )
    assert first.metadata.to_dict() == {"order_id": "ord_1"}
    assert again.last_response is not None
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    recorded = [r for r in server.requests_to("POST", "/v1/payment_intents") if r.replayed]
    assert recorded[-1].idempotency_key == "order-ord_1"
    assert recorded[-1].params["metadata"] == {"order_id": "ord_1"}

    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(params={**params, "amount": 1}, options=options)


def test_manual_capture_flow(server: FakeStripe, client: stripe.StripeClient) -> None:
    pi = _create(client, capture_method="manual")
    with pytest.raises(stripe.InvalidRequestError) as too_early:
        client.v1.payment_intents.capture(pi.id)
    assert too_early.value.code == "payment_intent_unexpected_state"
    assert too_early.value.http_status == 400

    [event] = server.customer_pays(pi.id)
    assert event["object"] == "event" and event["id"].startswith("evt_")
    assert event["type"] == "payment_intent.amount_capturable_updated"
    assert event["data"]["object"]["status"] == "requires_capture"
    held = client.v1.payment_intents.retrieve(pi.id)
    assert (held.status, held.amount_capturable, held.amount_received) == (
        "requires_capture",
        2500,
        0,
    )
    assert held.latest_charge is not None and str(held.latest_charge).startswith("ch_")

    captured = client.v1.payment_intents.capture(pi.id)
    assert (captured.status, captured.amount_received, captured.amount_capturable) == (
        "succeeded",
        2500,
        0,
    )
    assert server.events[-1]["type"] == "payment_intent.succeeded"
    assert server.events[-1]["data"]["object"]["id"] == pi.id


def test_automatic_payment_succeeds_and_refunds(
    server: FakeStripe, client: stripe.StripeClient
) -> None:
    pi = client.v1.payment_intents.create(
        params={"amount": 2500, "currency": "eur", "automatic_payment_methods": {"enabled": True}}
    )
    assert pi.automatic_payment_methods is not None and pi.automatic_payment_methods.enabled
    [event] = server.customer_pays(pi.id)
    assert event["type"] == "payment_intent.succeeded"
    assert event["data"]["object"]["amount_received"] == 2500

    partial = client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 500})
    assert (partial.object, partial.status, partial.amount) == ("refund", "succeeded", 500)
    assert partial.id.startswith("re_")
    rest = client.v1.refunds.create(params={"payment_intent": pi.id})
    assert rest.amount == 2000
    charge = server.events[-1]["data"]["object"]
    assert server.events[-1]["type"] == "charge.refunded"
    assert (charge["payment_intent"], charge["amount_refunded"], charge["refunded"]) == (
        pi.id,
        2500,
        True,
    )
    with pytest.raises(stripe.InvalidRequestError) as twice:
        client.v1.refunds.create(params={"payment_intent": pi.id})
    assert twice.value.code == "charge_already_refunded"


def test_refund_needs_a_succeeded_payment(client: stripe.StripeClient) -> None:
    pi = _create(client)
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.refunds.create(params={"payment_intent": pi.id})
    assert error.value.code == "payment_intent_unexpected_state"


def test_cancel(server: FakeStripe, client: stripe.StripeClient) -> None:
    pi = _create(client, capture_method="manual")
    server.customer_pays(pi.id)
    canceled = client.v1.payment_intents.cancel(pi.id, params={"cancellation_reason": "abandoned"})
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")
    assert server.events[-1]["type"] == "payment_intent.canceled"
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.payment_intents.cancel(pi.id)
    assert again.value.code == "payment_intent_unexpected_state"
    with pytest.raises(ValueError, match="cannot be paid"):
        server.customer_pays(pi.id)


def test_declined_card(server: FakeStripe, client: stripe.StripeClient) -> None:
    pi = _create(client)
    [event] = server.customer_pays(pi.id, card="4000000000000002")
    assert event["type"] == "payment_intent.payment_failed"
    failed = client.v1.payment_intents.retrieve(pi.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error is not None
    assert failed.last_payment_error.code == "card_declined"
    [retry] = server.customer_pays(pi.id)  # the customer tries another card
    assert retry["type"] == "payment_intent.succeeded"


def test_errors_are_stripe_shaped(server: FakeStripe) -> None:
    with pytest.raises(stripe.AuthenticationError) as unauthorized:
        server.client(api_key="pk_test_wrong").v1.payment_intents.retrieve("pi_x")
    assert unauthorized.value.http_status == 401
    with pytest.raises(stripe.InvalidRequestError) as missing:
        server.client().v1.payment_intents.retrieve("pi_missing")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
    with pytest.raises(stripe.InvalidRequestError) as invalid:
        server.client().v1.payment_intents.create(params={"currency": "eur"})  # type: ignore[typeddict-item]
    assert invalid.value.param == "amount"


def test_legacy_global_configuration(server: FakeStripe, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stripe, "api_key", "sk_test_global")
    monkeypatch.setattr(stripe, "api_base", server.url)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    pi = stripe.PaymentIntent.create(amount=700, currency="usd", metadata={"order_id": "o9"})
    assert stripe.PaymentIntent.retrieve(pi.id).metadata.to_dict() == {"order_id": "o9"}
    assert server.requests[-1].headers["authorization"] == "Bearer sk_test_global"


def test_webhook_signature_round_trip(server: FakeStripe, client: stripe.StripeClient) -> None:
    pi = _create(client)
    [event] = server.customer_pays(pi.id)
    payload, header = signed_webhook(event, WEBHOOK_SECRET)
    assert header == sign_webhook(payload, WEBHOOK_SECRET, int(header[2:].split(",")[0]))

    verified = stripe.Webhook.construct_event(payload, header, WEBHOOK_SECRET)
    assert (verified.id, verified.type) == (event["id"], "payment_intent.succeeded")
    assert verified.data.object["id"] == pi.id
    assert client.construct_event(payload, header, WEBHOOK_SECRET).id == event["id"]
    assert client.v1.events.retrieve(event["id"]).type == "payment_intent.succeeded"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, "whsec_wrong")
    stale = sign_webhook(payload, WEBHOOK_SECRET, int(time.time()) - 3600)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, stale, WEBHOOK_SECRET)
    assert json.loads(payload)["data"]["object"]["status"] == "succeeded"
