"""Orders over HTTP: hold, pay, confirm with tickets, sold out, cancel, free orders."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from boxoffice.app import create_app
from tests.conftest import Backend, make_settings
from tests.helpers import API, Account, assert_problem, published_event, register, tenant

GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
NO_FUNDS_CARD = "4000000000009995"


async def _event(client: httpx.AsyncClient, **ticket: Any) -> tuple[Any, dict[str, Any], str]:
    crew = await tenant(client)
    event = await published_event(client, crew.org_id, crew.admin, ticket=ticket or None)
    types = (await client.get(f"{API}/events/{event['id']}/ticket-types")).json()["data"]
    return crew, event, types[0]["id"]


async def buy(
    client: httpx.AsyncClient,
    buyer: Account,
    event_id: str,
    ticket_type_id: str,
    n: int = 1,
    **extra: Any,
) -> httpx.Response:
    return await client.post(
        f"{API}/events/{event_id}/orders",
        json={"items": [{"ticket_type_id": ticket_type_id, "quantity": n}], **extra},
        headers=buyer.headers,
    )


async def pay(
    client: httpx.AsyncClient, buyer: Account, order_id: str, number: str = GOOD_CARD
) -> httpx.Response:
    return await client.post(
        f"{API}/orders/{order_id}/pay",
        json={"payment_method": {"type": "test_card", "number": number}},
        headers=buyer.headers,
    )


async def test_hold_pay_confirm_issues_one_ticket_per_seat(client: httpx.AsyncClient) -> None:
    _, event, tt = await _event(client, quantity=5, price_amount=2500)
    buyer = await register(client, name="Ada Lovelace")
    held = await buy(client, buyer, event["id"], tt, 2)
    assert held.status_code == 201, held.text
    order = held.json()
    assert order["status"] == "pending"
    assert order["total_amount"] == 5000 and order["currency"] == "EUR"
    assert order["items"] == [
        {"ticket_type_id": tt, "quantity": 2, "unit_amount": 2500, "discount_amount": 0}
    ]
    types = (await client.get(f"{API}/events/{event['id']}/ticket-types")).json()["data"]
    assert types[0]["available"] == 3

    paid = await pay(client, buyer, order["id"])
    assert paid.status_code == 200, paid.text
    body = paid.json()
    assert body["status"] == "confirmed"
    assert len(body["tickets"]) == 2
    assert len({t["code"] for t in body["tickets"]}) == 2
    assert all(len(t["code"]) >= 26 for t in body["tickets"])
    assert {t["attendee_name"] for t in body["tickets"]} == {"Ada Lovelace"}


async def test_declined_card_is_402_and_order_stays_pending(client: httpx.AsyncClient) -> None:
    _, event, tt = await _event(client)
    buyer = await register(client)
    order = (await buy(client, buyer, event["id"], tt)).json()
    assert_problem(await pay(client, buyer, order["id"], DECLINED_CARD), 402)
    problem = assert_problem(await pay(client, buyer, order["id"], NO_FUNDS_CARD), 402)
    assert problem["type"].endswith("/insufficient-funds")
    again = (await client.get(f"{API}/orders/{order['id']}", headers=buyer.headers)).json()
    assert again["status"] == "pending" and again["tickets"] == []
    assert (await pay(client, buyer, order["id"])).json()["status"] == "confirmed"


async def test_sold_out_names_the_ticket_type(client: httpx.AsyncClient) -> None:
    _, event, tt = await _event(client, quantity=2)
    buyer = await register(client)
    assert (await buy(client, buyer, event["id"], tt, 2)).status_code == 201
    problem = assert_problem(await buy(client, buyer, event["id"], tt, 1), 409)
    assert problem["type"].endswith("/sold-out")
    assert problem["ticket_type_id"] == tt


async def test_free_order_confirms_at_once(client: httpx.AsyncClient) -> None:
    _, event, tt = await _event(client, price_amount=0, quantity=3)
    buyer = await register(client)
    response = await buy(client, buyer, event["id"], tt, 3)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "confirmed"
    assert len(response.json()["tickets"]) == 3


async def test_cancel_paid_order_returns_seats(client: httpx.AsyncClient) -> None:
    _, event, tt = await _event(client, quantity=1)
    buyer = await register(client)
    order = (await buy(client, buyer, event["id"], tt)).json()
    await pay(client, buyer, order["id"])
    cancelled = await client.post(f"{API}/orders/{order['id']}/cancel", headers=buyer.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["payment"]["status"] == "refunded"
    assert {t["status"] for t in cancelled.json()["tickets"]} == {"void"}
    assert (await buy(client, buyer, event["id"], tt)).status_code == 201


async def test_idempotent_order_creation(client: httpx.AsyncClient) -> None:
    _, event, tt = await _event(client, quantity=10)
    buyer = await register(client)
    body = {"items": [{"ticket_type_id": tt, "quantity": 1}]}
    headers = {**buyer.headers, "Idempotency-Key": "k-1"}
    first = await client.post(f"{API}/events/{event['id']}/orders", json=body, headers=headers)
    second = await client.post(f"{API}/events/{event['id']}/orders", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    types = (await client.get(f"{API}/events/{event['id']}/ticket-types")).json()["data"]
    assert types[0]["available"] == 9
    other = {"items": [{"ticket_type_id": tt, "quantity": 2}]}
    assert_problem(
        await client.post(f"{API}/events/{event['id']}/orders", json=other, headers=headers),
        422,
        "Idempotency-Key",
    )


async def test_concurrent_orders_never_starve_a_small_pool(
    backend: Backend, tmp_path: Path
) -> None:
    """A request must never hold two pooled connections at once (the express path writes on
    its own connection): with a pool of 1 (+1 overflow) and 12 concurrent orders, a request
    holding one while waiting for another would starve the pool and fail with a timeout."""
    settings = make_settings(backend, tmp_path, database_pool_size=1)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            _, event, tt = await _event(client, quantity=8)
            buyers = [await register(client) for _ in range(3)]
            responses = await asyncio.gather(
                *(buy(client, buyers[i % 3], event["id"], tt) for i in range(12))
            )
    assert sorted(r.status_code for r in responses) == [201] * 8 + [409] * 4
