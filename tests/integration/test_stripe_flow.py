"""The Stripe flow end to end: the real stripe-python client talks to a loopback fake Stripe.

``POST /orders/{id}/pay`` creates one PaymentIntent per order (``capture_method=manual``); the
buyer authorizes it (``FakeStripe.customer_pays``, standing in for Stripe.js); the signed
webhook confirms the order — taking the seats again if the hold lapsed — and captures, or voids
the authorization when the seats are gone. Runs once per backend (the conftest ``backend``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from boxoffice.app import create_app
from boxoffice.config import ConfigurationError, load_settings
from boxoffice.db.engine import Database
from boxoffice.jobs.context import JobContext
from boxoffice.jobs.inline import run_due
from boxoffice.payments.webhooks import LATE_AND_CANCELLED, LATE_AND_GONE
from boxoffice.ticketing.models import Order, TicketType
from boxoffice.ticketing.orders import release_expired
from tests.conftest import Backend, make_settings
from tests.helpers import API, Account, Tenant, assert_problem, published_event, register, tenant
from tests.support.fake_stripe import FakeStripe, RecordedRequest, signed_webhook

SECRET_KEY = "sk_test_boxoffice_stripe_flow"
WEBHOOK_SECRET = "whsec_test_boxoffice_stripe_flow"
WEBHOOK = f"{API}/payments/stripe/webhook"
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
PRICE = 2500


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeStripe]:
    server = FakeStripe(api_key=SECRET_KEY).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
async def stripe_app(
    backend: Backend, fake: FakeStripe, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[FastAPI]:
    settings = make_settings(
        backend,
        tmp_path_factory.mktemp("stripe-var"),
        payment_provider="stripe",
        stripe_secret_key=SECRET_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=fake.url,
        order_hold_seconds=600,
        hold_sweep_interval_seconds=0,  # expiry happens only when a test runs it
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(stripe_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=stripe_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


# ------------------------------------------------------------------------------ helpers


def database_of(app: FastAPI) -> Database:
    database: Database = app.state.resources.database
    return database


async def stripe_event(http: httpx.AsyncClient, *, quantity: int = 10) -> tuple[Tenant, str, str]:
    """An organization, and a published event with one paid ticket type: (crew, event, type)."""
    crew = await tenant(http)
    event = await published_event(
        http, crew.org_id, crew.admin, ticket={"quantity": quantity, "price_amount": PRICE}
    )
    types = (await http.get(f"{API}/events/{event['id']}/ticket-types")).json()["data"]
    return crew, str(event["id"]), str(types[0]["id"])


async def buy(
    http: httpx.AsyncClient, buyer: Account, event_id: str, ticket_type_id: str, n: int = 1
) -> dict[str, Any]:
    response = await http.post(
        f"{API}/events/{event_id}/orders",
        json={"items": [{"ticket_type_id": ticket_type_id, "quantity": n}]},
        headers=buyer.headers,
    )
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    assert order["status"] == "pending"
    return order


async def pay(http: httpx.AsyncClient, buyer: Account, order_id: str) -> dict[str, Any]:
    response = await http.post(
        f"{API}/orders/{order_id}/pay",
        json={"payment_method": {"type": "stripe"}},
        headers=buyer.headers,
    )
    assert response.status_code == 200, response.text
    order: dict[str, Any] = response.json()
    return order


async def get_order(http: httpx.AsyncClient, who: Account, order_id: str) -> dict[str, Any]:
    response = await http.get(f"{API}/orders/{order_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    order: dict[str, Any] = response.json()
    return order


def intents_of(fake: FakeStripe, order_id: str) -> list[dict[str, Any]]:
    return [
        intent
        for intent in fake.payment_intents.values()
        if intent["metadata"].get("order_id") == order_id
    ]


def intent_of(fake: FakeStripe, order_id: str) -> dict[str, Any]:
    intents = intents_of(fake, order_id)
    assert len(intents) == 1, intents
    return intents[0]


def keyed(requests: list[RecordedRequest], key: str) -> list[RecordedRequest]:
    return [request for request in requests if request.idempotency_key == key]


def captures(fake: FakeStripe, pi_id: str) -> list[RecordedRequest]:
    return fake.requests_to("POST", f"/v1/payment_intents/{pi_id}/capture")


def cancels(fake: FakeStripe, pi_id: str) -> list[RecordedRequest]:
    return fake.requests_to("POST", f"/v1/payment_intents/{pi_id}/cancel")


def refunds_for(fake: FakeStripe, pi_id: str) -> list[RecordedRequest]:
    return [
        r for r in fake.requests_to("POST", "/v1/refunds") if r.params == {"payment_intent": pi_id}
    ]


async def deliver(
    http: httpx.AsyncClient, event: dict[str, Any], secret: str = WEBHOOK_SECRET
) -> httpx.Response:
    """One webhook delivery of ``event``, signed as Stripe signs it."""
    body, signature = signed_webhook(event, secret)
    return await http.post(
        WEBHOOK,
        content=body,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )


async def delivered(http: httpx.AsyncClient, event: dict[str, Any]) -> str:
    """Deliver ``event``; the handler's outcome."""
    response = await deliver(http, event)
    assert response.status_code == 200, response.text
    assert response.json()["received"] is True
    outcome: str = response.json()["outcome"]
    return outcome


def customer_pays(fake: FakeStripe, pi_id: str, card: str = GOOD_CARD) -> dict[str, Any]:
    """The buyer confirms the PaymentIntent in the browser: the one event Stripe sends."""
    events = fake.customer_pays(pi_id, card)
    assert len(events) == 1, events
    return events[0]


async def seats(app: FastAPI, ticket_type_id: str) -> tuple[int, int]:
    """(sold, held) of a ticket type, read from the database."""
    async with database_of(app).write_sessions() as session:
        ticket_type = await session.get(TicketType, uuid.UUID(ticket_type_id))
        assert ticket_type is not None
        return ticket_type.sold, ticket_type.held


async def expire_hold(app: FastAPI, order_id: str, ticket_type_id: str) -> None:
    """Run the expiry sweep as it would run just after the order's hold lapsed."""
    async with database_of(app).write_sessions() as session, session.begin():
        expires_at = await session.scalar(
            select(Order.expires_at).where(Order.id == uuid.UUID(order_id))
        )
        assert expires_at is not None
        expired = await release_expired(
            session,
            now=expires_at + timedelta(seconds=1),
            ticket_type_ids=[uuid.UUID(ticket_type_id)],
        )
    assert uuid.UUID(order_id) in expired


async def bought_with_stripe(
    http: httpx.AsyncClient, fake: FakeStripe, buyer: Account, event_id: str, tt: str, n: int = 1
) -> tuple[dict[str, Any], str]:
    """A confirmed, captured order paid through Stripe: (order, PaymentIntent id)."""
    order = await buy(http, buyer, event_id, tt, n)
    await pay(http, buyer, order["id"])
    pi_id = str(intent_of(fake, order["id"])["id"])
    assert await delivered(http, customer_pays(fake, pi_id)) == "confirmed"
    confirmed = await get_order(http, buyer, order["id"])
    assert confirmed["status"] == "confirmed"
    assert confirmed["payment"]["status"] == "captured"
    return confirmed, pi_id


# ------------------------------------------------------------------------------ the happy path


async def test_pay_authorize_webhook_confirms_and_captures(
    http: httpx.AsyncClient, fake: FakeStripe, stripe_app: FastAPI
) -> None:
    _, event_id, tt = await stripe_event(http, quantity=5)
    buyer = await register(http, name="Grace Hopper")
    order = await buy(http, buyer, event_id, tt, 2)

    started = await pay(http, buyer, order["id"])
    assert started["status"] == "pending"
    assert started["tickets"] == []
    assert started["payment"]["provider"] == "stripe"
    assert started["payment"]["status"] == "requires_payment"
    intent = intent_of(fake, order["id"])
    assert started["payment"]["client_secret"] == intent["client_secret"]
    assert intent["amount"] == 2 * PRICE == order["total_amount"]
    assert intent["currency"] == "eur"
    assert intent["metadata"] == {"order_id": order["id"]}
    assert intent["capture_method"] == "manual"
    assert intent["status"] == "requires_payment_method"
    (created,) = keyed(
        fake.requests_to("POST", "/v1/payment_intents"), f"order:{order['id']}:create"
    )
    assert created.status == 200 and not created.replayed
    assert await seats(stripe_app, tt) == (0, 2)

    authorized = customer_pays(fake, intent["id"])
    assert authorized["type"] == "payment_intent.amount_capturable_updated"
    assert fake.payment_intents[intent["id"]]["status"] == "requires_capture"
    assert await delivered(http, authorized) == "confirmed"

    confirmed = await get_order(http, buyer, order["id"])
    assert confirmed["status"] == "confirmed"
    assert confirmed["confirmed_at"] is not None
    assert confirmed["payment"] == {"provider": "stripe", "status": "captured"}
    assert len(confirmed["tickets"]) == 2
    assert {ticket["status"] for ticket in confirmed["tickets"]} == {"valid"}
    assert {ticket["attendee_name"] for ticket in confirmed["tickets"]} == {"Grace Hopper"}
    assert fake.payment_intents[intent["id"]]["status"] == "succeeded"
    assert fake.payment_intents[intent["id"]]["amount_received"] == 2 * PRICE
    (capture,) = captures(fake, intent["id"])
    assert capture.idempotency_key == f"order:{order['id']}:capture"
    assert capture.status == 200
    assert await seats(stripe_app, tt) == (2, 0)

    # The capture makes Stripe send payment_intent.succeeded too: nothing more to do.
    (succeeded,) = [
        event
        for event in fake.events_of_type("payment_intent.succeeded")
        if event["data"]["object"]["id"] == intent["id"]
    ]
    assert await delivered(http, succeeded) == "already-confirmed"
    assert len(captures(fake, intent["id"])) == 1
    assert len((await get_order(http, buyer, order["id"]))["tickets"]) == 2


async def test_paying_twice_creates_one_payment_intent(
    http: httpx.AsyncClient, fake: FakeStripe
) -> None:
    _, event_id, tt = await stripe_event(http)
    buyer = await register(http)
    order = await buy(http, buyer, event_id, tt)

    first = await pay(http, buyer, order["id"])
    second = await pay(http, buyer, order["id"])

    intent = intent_of(fake, order["id"])
    assert first["payment"]["client_secret"] == second["payment"]["client_secret"]
    assert second["payment"]["client_secret"] == intent["client_secret"]
    assert second["status"] == "pending"
    creates = keyed(fake.requests_to("POST", "/v1/payment_intents"), f"order:{order['id']}:create")
    assert [request.replayed for request in creates] == [False, True]
    assert creates[0].params == creates[1].params

    # The buyer gives up before paying: the unpaid PaymentIntent is cancelled at Stripe.
    response = await http.post(f"{API}/orders/{order['id']}/cancel", headers=buyer.headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["payment"]["status"] == "voided"
    (void,) = cancels(fake, intent["id"])
    assert void.idempotency_key == f"order:{order['id']}:void"
    assert fake.payment_intents[intent["id"]]["status"] == "canceled"


async def test_declined_card_leaves_the_order_pending(
    http: httpx.AsyncClient, fake: FakeStripe, stripe_app: FastAPI
) -> None:
    _, event_id, tt = await stripe_event(http)
    buyer = await register(http)
    order = await buy(http, buyer, event_id, tt)
    await pay(http, buyer, order["id"])
    intent = intent_of(fake, order["id"])

    failed = customer_pays(fake, intent["id"], DECLINED_CARD)
    assert failed["type"] == "payment_intent.payment_failed"
    assert await delivered(http, failed) == "failed-noted"

    after = await get_order(http, buyer, order["id"])
    assert after["status"] == "pending"
    assert after["tickets"] == []
    assert after["payment"]["status"] == "requires_payment"
    assert after["payment"]["client_secret"] == intent["client_secret"]
    assert captures(fake, intent["id"]) == []
    assert await seats(stripe_app, tt) == (0, 1)

    # The buyer tries another card with the same client secret.
    assert await delivered(http, customer_pays(fake, intent["id"])) == "confirmed"
    assert (await get_order(http, buyer, order["id"]))["status"] == "confirmed"
    assert await seats(stripe_app, tt) == (1, 0)


async def test_a_replayed_webhook_is_a_no_op(
    http: httpx.AsyncClient, fake: FakeStripe, stripe_app: FastAPI
) -> None:
    _, event_id, tt = await stripe_event(http)
    buyer = await register(http)
    order = await buy(http, buyer, event_id, tt)
    await pay(http, buyer, order["id"])
    intent = intent_of(fake, order["id"])
    authorized = customer_pays(fake, intent["id"])

    assert await delivered(http, authorized) == "confirmed"
    first = await get_order(http, buyer, order["id"])
    assert await delivered(http, authorized) == "replay"

    again = await get_order(http, buyer, order["id"])
    assert again == first
    assert again["status"] == "confirmed" and len(again["tickets"]) == 1
    assert len(captures(fake, intent["id"])) == 1
    assert await seats(stripe_app, tt) == (1, 0)


async def test_bad_signatures_are_rejected_and_change_nothing(
    http: httpx.AsyncClient, fake: FakeStripe
) -> None:
    _, event_id, tt = await stripe_event(http)
    buyer = await register(http)
    order = await buy(http, buyer, event_id, tt)
    await pay(http, buyer, order["id"])
    intent = intent_of(fake, order["id"])
    authorized = customer_pays(fake, intent["id"])
    body, signature = signed_webhook(authorized, WEBHOOK_SECRET)

    wrong_secret = await deliver(http, authorized, secret="whsec_someone_else")
    assert assert_problem(wrong_secret, 400)["type"].endswith("/bad-signature")
    tampered = body.replace(intent["id"].encode(), b"pi_" + b"0" * 24)
    assert tampered != body
    assert_problem(
        await http.post(
            WEBHOOK,
            content=tampered,
            headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
        ),
        400,
    )
    assert_problem(
        await http.post(
            WEBHOOK,
            content=body,
            headers={"Stripe-Signature": "garbage", "Content-Type": "application/json"},
        ),
        400,
    )
    assert_problem(
        await http.post(WEBHOOK, content=body, headers={"Content-Type": "application/json"}), 400
    )

    unchanged = await get_order(http, buyer, order["id"])
    assert unchanged["status"] == "pending" and unchanged["tickets"] == []
    assert captures(fake, intent["id"]) == []
    # None of them was recorded as handled: the genuine delivery still applies.
    assert await delivered(http, authorized) == "confirmed"


# ------------------------------------------------------------------------------ late payments


async def test_late_authorization_confirms_when_the_seats_are_still_free(
    http: httpx.AsyncClient, fake: FakeStripe, stripe_app: FastAPI
) -> None:
    _, event_id, tt = await stripe_event(http, quantity=1)
    buyer = await register(http)
    order = await buy(http, buyer, event_id, tt)
    await pay(http, buyer, order["id"])
    intent = intent_of(fake, order["id"])

    await expire_hold(stripe_app, order["id"], tt)
    assert (await get_order(http, buyer, order["id"]))["status"] == "expired"
    assert await seats(stripe_app, tt) == (0, 0)

    assert await delivered(http, customer_pays(fake, intent["id"])) == "confirmed"

    confirmed = await get_order(http, buyer, order["id"])
    assert confirmed["status"] == "confirmed"
    assert confirmed["payment"]["status"] == "captured"
    assert len(confirmed["tickets"]) == 1
    assert fake.payment_intents[intent["id"]]["status"] == "succeeded"
    assert len(captures(fake, intent["id"])) == 1
    assert cancels(fake, intent["id"]) == []
    assert await seats(stripe_app, tt) == (1, 0)


async def test_late_authorization_is_voided_when_the_seats_are_gone(
    http: httpx.AsyncClient, fake: FakeStripe, stripe_app: FastAPI
) -> None:
    _, event_id, tt = await stripe_event(http, quantity=1)
    late_buyer, other_buyer = await register(http), await register(http)
    order = await buy(http, late_buyer, event_id, tt)
    await pay(http, late_buyer, order["id"])
    intent = intent_of(fake, order["id"])

    await expire_hold(stripe_app, order["id"], tt)
    other, _ = await bought_with_stripe(http, fake, other_buyer, event_id, tt)
    assert await seats(stripe_app, tt) == (1, 0)

    assert await delivered(http, customer_pays(fake, intent["id"])) == "released-payment"

    late = await get_order(http, late_buyer, order["id"])
    assert late["status"] == "cancelled"
    assert "hold" in late["cancel_reason"]
    assert late["cancel_reason"] == LATE_AND_GONE
    assert late["payment"]["status"] == "voided"
    assert late["tickets"] == []
    assert fake.payment_intents[intent["id"]]["status"] == "canceled"
    assert fake.payment_intents[intent["id"]]["amount_received"] == 0
    assert captures(fake, intent["id"]) == []
    (void,) = cancels(fake, intent["id"])
    assert void.idempotency_key == f"order:{order['id']}:void"
    assert await seats(stripe_app, tt) == (1, 0)
    kept = await get_order(http, other_buyer, other["id"])
    assert kept["status"] == "confirmed"
    assert [ticket["status"] for ticket in kept["tickets"]] == ["valid"]


# ------------------------------------------------------------------------------ refunds


async def test_full_refund_at_stripe_cancels_the_order(
    http: httpx.AsyncClient, fake: FakeStripe, stripe_app: FastAPI
) -> None:
    _, event_id, tt = await stripe_event(http, quantity=3)
    buyer = await register(http)
    order, pi_id = await bought_with_stripe(http, fake, buyer, event_id, tt, 2)
    assert await seats(stripe_app, tt) == (2, 0)

    # Someone refunds the payment in the Stripe dashboard.
    dashboard = fake.client(SECRET_KEY)
    await asyncio.to_thread(dashboard.v1.refunds.create, params={"payment_intent": pi_id})
    (refunded,) = [
        event
        for event in fake.events_of_type("charge.refunded")
        if event["data"]["object"]["payment_intent"] == pi_id
    ]
    assert await delivered(http, refunded) == "cancelled"

    cancelled = await get_order(http, buyer, order["id"])
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancel_reason"] == "refunded at Stripe"
    assert cancelled["payment"]["status"] == "refunded"
    assert {ticket["status"] for ticket in cancelled["tickets"]} == {"void"}
    assert await seats(stripe_app, tt) == (0, 0)
    # The refund came from Stripe: the platform does not refund a second time.
    assert len(refunds_for(fake, pi_id)) == 1
    assert keyed(refunds_for(fake, pi_id), f"order:{order['id']}:refund") == []
    assert await delivered(http, refunded) == "replay"


async def test_buyer_cancel_refunds_through_stripe(
    http: httpx.AsyncClient, fake: FakeStripe, stripe_app: FastAPI
) -> None:
    _, event_id, tt = await stripe_event(http, quantity=1)
    buyer = await register(http)
    order, pi_id = await bought_with_stripe(http, fake, buyer, event_id, tt)

    response = await http.post(f"{API}/orders/{order['id']}/cancel", headers=buyer.headers)
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["payment"]["status"] == "refunded"
    assert {ticket["status"] for ticket in cancelled["tickets"]} == {"void"}
    (refund,) = refunds_for(fake, pi_id)
    assert refund.idempotency_key == f"order:{order['id']}:refund"
    assert refund.status == 200
    assert [r["amount"] for r in fake.refunds.values() if r["payment_intent"] == pi_id] == [PRICE]
    assert await seats(stripe_app, tt) == (0, 0)

    # Stripe then reports the refund we made: noted, nothing refunded twice.
    (refunded,) = [
        event
        for event in fake.events_of_type("charge.refunded")
        if event["data"]["object"]["payment_intent"] == pi_id
    ]
    assert await delivered(http, refunded) == "noted"
    assert len(refunds_for(fake, pi_id)) == 1
    assert (await get_order(http, buyer, order["id"]))["status"] == "cancelled"


async def test_event_cancel_refunds_captured_and_voids_pending(
    http: httpx.AsyncClient, fake: FakeStripe, stripe_app: FastAPI
) -> None:
    crew, event_id, tt = await stripe_event(http, quantity=5)
    paid_buyer, pending_buyer = await register(http), await register(http)
    paid, paid_pi = await bought_with_stripe(http, fake, paid_buyer, event_id, tt)
    pending = await buy(http, pending_buyer, event_id, tt)
    await pay(http, pending_buyer, pending["id"])
    pending_pi = str(intent_of(fake, pending["id"])["id"])
    assert await seats(stripe_app, tt) == (1, 1)

    response = await http.post(f"{API}/events/{event_id}/cancel", headers=crew.admin.headers)
    assert response.status_code == 200, response.text
    # The money goes back in jobs, one per order, with retries; not in the request.
    assert refunds_for(fake, paid_pi) == [] and cancels(fake, pending_pi) == []
    resources = stripe_app.state.resources
    context = JobContext(resources.settings, resources.database, resources.cache)
    assert await run_due(context, only={"payments.settle_cancelled_order"}) >= 2
    assert await run_due(context, only={"payments.settle_cancelled_order"}) == 0

    refunded = await get_order(http, paid_buyer, paid["id"])
    assert refunded["status"] == "cancelled"
    assert refunded["payment"]["status"] == "refunded"
    assert {ticket["status"] for ticket in refunded["tickets"]} == {"void"}
    (refund,) = refunds_for(fake, paid_pi)
    assert refund.idempotency_key == f"order:{paid['id']}:refund"
    assert cancels(fake, paid_pi) == []

    voided = await get_order(http, pending_buyer, pending["id"])
    assert voided["status"] == "cancelled"
    assert voided["payment"]["status"] == "voided"
    (void,) = cancels(fake, pending_pi)
    assert void.idempotency_key == f"order:{pending['id']}:void"
    assert fake.payment_intents[pending_pi]["status"] == "canceled"
    assert refunds_for(fake, pending_pi) == []
    assert await seats(stripe_app, tt) == (0, 0)


async def test_late_authorization_for_a_cancelled_event_is_voided(
    http: httpx.AsyncClient, fake: FakeStripe, stripe_app: FastAPI
) -> None:
    """The hold lapsed, the event was cancelled, then the buyer's card is authorized: the
    order must not come back to life with tickets for an event that will not take place."""
    crew, event_id, tt = await stripe_event(http, quantity=5)
    buyer = await register(http)
    order = await buy(http, buyer, event_id, tt)
    await pay(http, buyer, order["id"])
    intent = intent_of(fake, order["id"])
    await expire_hold(stripe_app, order["id"], tt)
    response = await http.post(f"{API}/events/{event_id}/cancel", headers=crew.admin.headers)
    assert response.status_code == 200, response.text

    assert await delivered(http, customer_pays(fake, intent["id"])) == "released-payment"

    after = await get_order(http, buyer, order["id"])
    assert after["status"] == "cancelled"
    assert after["cancel_reason"] == LATE_AND_CANCELLED
    assert after["tickets"] == []
    assert after["payment"]["status"] == "voided"
    assert fake.payment_intents[intent["id"]]["status"] == "canceled"
    assert captures(fake, intent["id"]) == []
    assert await seats(stripe_app, tt) == (0, 0)


# ------------------------------------------------------------------------------ settings


def test_stripe_without_keys_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE"):
        monkeypatch.delenv(f"BOXOFFICE_{name}", raising=False)
    base: dict[str, Any] = {"var_dir": tmp_path, "secret_key": "k" * 40}

    with pytest.raises(ConfigurationError, match="BOXOFFICE_STRIPE_SECRET_KEY"):
        load_settings(**base, payment_provider="stripe")
    with pytest.raises(ConfigurationError, match="BOXOFFICE_STRIPE_WEBHOOK_SECRET"):
        load_settings(**base, payment_provider="stripe", stripe_secret_key=SECRET_KEY)
    with pytest.raises(ConfigurationError, match="BOXOFFICE_PAYMENT_PROVIDER=stripe"):
        load_settings(**base, payment_provider="stripe", stripe_webhook_secret=WEBHOOK_SECRET)

    settings = load_settings(
        **base,
        payment_provider="stripe",
        stripe_secret_key=SECRET_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
    )
    assert settings.payment_provider == "stripe"
