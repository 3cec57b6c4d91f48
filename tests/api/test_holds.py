"""Holds: expiry (lazy and by the sweep), released exactly once, never taken from a paid order;
order validation (sales windows, max_per_order, bad items) writes nothing; event capacity."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update

from boxoffice.app import create_app
from boxoffice.core.timestamps import utcnow
from boxoffice.jobs.context import JobContext
from boxoffice.jobs.inline import run_due
from boxoffice.ticketing.models import Order, TicketType
from boxoffice.ticketing.orders import release_expired
from tests.conftest import Backend, make_settings
from tests.helpers import (
    API,
    Account,
    add_ticket_type,
    assert_problem,
    create_event,
    publish,
    published_event,
    register,
    tenant,
)

GOOD_CARD = {"payment_method": {"type": "test_card", "number": "4242424242424242"}}


async def _event(client: httpx.AsyncClient, **ticket: Any) -> tuple[str, str]:
    crew = await tenant(client)
    event = await published_event(client, crew.org_id, crew.admin, ticket=ticket or None)
    types = (await client.get(f"{API}/events/{event['id']}/ticket-types")).json()["data"]
    return event["id"], types[0]["id"]


async def _buy(
    client: httpx.AsyncClient, buyer: Account, event_id: str, items: list[tuple[str, int]]
) -> httpx.Response:
    return await client.post(
        f"{API}/events/{event_id}/orders",
        json={"items": [{"ticket_type_id": t, "quantity": n} for t, n in items]},
        headers=buyer.headers,
    )


async def _counters(app: Any, ticket_type_id: str) -> tuple[int, int]:
    async with app.state.resources.database.write_sessions() as session:
        row = (
            await session.execute(
                select(TicketType.sold, TicketType.held).where(
                    TicketType.id == uuid.UUID(ticket_type_id)
                )
            )
        ).one()
    return int(row[0]), int(row[1])


async def _lapse(app: Any, order_id: str) -> None:
    """Make an order's hold lapse now (as if its ten minutes had passed)."""
    async with app.state.resources.database.write_sessions() as session, session.begin():
        await session.execute(
            update(Order)
            .where(Order.id == uuid.UUID(order_id))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


async def _sweep(app: Any, ticket_type: str, now: datetime | None = None) -> list[uuid.UUID]:
    """Expire this test's lapsed holds (other tests' orders share the database)."""
    async with app.state.resources.database.write_sessions() as session, session.begin():
        return await release_expired(
            session, now=now or utcnow(), ticket_type_ids=[uuid.UUID(ticket_type)]
        )


async def test_expired_hold_releases_its_seats_once(client: httpx.AsyncClient, app: Any) -> None:
    event_id, tt = await _event(client, quantity=3)
    buyer = await register(client)
    order = (await _buy(client, buyer, event_id, [(tt, 2)])).json()
    assert order["expires_at"] > order["created_at"]
    assert await _counters(app, tt) == (0, 2)
    await _lapse(app, order["id"])
    assert_problem(
        await client.post(f"{API}/orders/{order['id']}/pay", json=GOOD_CARD, headers=buyer.headers),
        409,
    )
    assert await _counters(app, tt) == (0, 2)  # lapsed but not yet released
    assert await _sweep(app, tt) == [uuid.UUID(order["id"])]
    assert await _sweep(app, tt) == []  # never twice
    assert await _counters(app, tt) == (0, 0)
    fetched = (await client.get(f"{API}/orders/{order['id']}", headers=buyer.headers)).json()
    assert fetched["status"] == "expired"
    problem = assert_problem(
        await client.post(f"{API}/orders/{order['id']}/pay", json=GOOD_CARD, headers=buyer.headers),
        409,
    )
    assert problem["type"].endswith("/order-expired")


async def test_concurrent_sweeps_release_each_hold_exactly_once(
    client: httpx.AsyncClient, app: Any
) -> None:
    event_id, tt = await _event(client, quantity=20)
    buyers = [await register(client) for _ in range(4)]
    orders = [(await _buy(client, b, event_id, [(tt, 3)])).json() for b in buyers]
    for order in orders:
        await _lapse(app, order["id"])
    results = await asyncio.gather(*(_sweep(app, tt) for _ in range(4)))
    released = [order_id for result in results for order_id in result]
    assert sorted(released) == sorted(uuid.UUID(o["id"]) for o in orders)
    assert await _counters(app, tt) == (0, 0)


async def test_a_paid_order_never_loses_its_seats(client: httpx.AsyncClient, app: Any) -> None:
    event_id, tt = await _event(client, quantity=2)
    buyer = await register(client)
    order = (await _buy(client, buyer, event_id, [(tt, 2)])).json()
    paid = await client.post(
        f"{API}/orders/{order['id']}/pay", json=GOOD_CARD, headers=buyer.headers
    )
    assert paid.json()["status"] == "confirmed"
    assert await _sweep(app, tt, utcnow() + timedelta(days=365)) == []
    assert await _counters(app, tt) == (2, 0)
    fetched = (await client.get(f"{API}/orders/{order['id']}", headers=buyer.headers)).json()
    assert fetched["status"] == "confirmed" and len(fetched["tickets"]) == 2


async def test_lapsed_holds_are_released_lazily_by_the_next_buyer(
    client: httpx.AsyncClient, app: Any
) -> None:
    event_id, tt = await _event(client, quantity=1)
    first, second = await register(client), await register(client)
    held = (await _buy(client, first, event_id, [(tt, 1)])).json()
    assert_problem(await _buy(client, second, event_id, [(tt, 1)]), 409)
    await _lapse(app, held["id"])
    taken = await _buy(client, second, event_id, [(tt, 1)])
    assert taken.status_code == 201, taken.text
    assert (await client.get(f"{API}/orders/{held['id']}", headers=first.headers)).json()[
        "status"
    ] == "expired"
    assert await _counters(app, tt) == (0, 1)


async def test_the_in_process_scheduler_expires_holds(backend: Backend, tmp_path: Path) -> None:
    """Embedded mode: `serve` runs the scheduler, which fires the expiry job every period."""
    settings = make_settings(
        backend,
        tmp_path,
        jobs_in_process=True,
        hold_sweep_interval_seconds=0.2,
        scheduler_tick_seconds=0.1,
        jobs_relay_interval_seconds=0.1,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            event_id, tt = await _event(client, quantity=1)
            buyer = await register(client)
            order = (await _buy(client, buyer, event_id, [(tt, 1)])).json()
            await _lapse(app, order["id"])
            for _ in range(100):
                fetched = await client.get(f"{API}/orders/{order['id']}", headers=buyer.headers)
                if fetched.json()["status"] == "expired":
                    break
                await asyncio.sleep(0.1)
            assert fetched.json()["status"] == "expired"
            types = (await client.get(f"{API}/events/{event_id}/ticket-types")).json()["data"]
            assert types[0]["available"] == 1


async def test_bad_orders_are_422_and_write_nothing(client: httpx.AsyncClient, app: Any) -> None:
    crew = await tenant(client)
    soon = datetime.now(UTC) + timedelta(days=2)
    event = await create_event(client, crew.org_id, crew.admin)
    open_type = await add_ticket_type(client, event["id"], crew.admin, quantity=5, max_per_order=2)
    later = await add_ticket_type(
        client, event["id"], crew.admin, name="Later", sales_start=soon.isoformat()
    )
    closed = await add_ticket_type(
        client,
        event["id"],
        crew.admin,
        name="Early bird",
        sales_start=(soon - timedelta(days=10)).isoformat(),
        sales_end=(soon - timedelta(days=5)).isoformat(),
    )
    await publish(client, event["id"], crew.admin)
    buyer = await register(client)
    other_event = await published_event(client, crew.org_id, crew.admin)
    foreign = (await client.get(f"{API}/events/{other_event['id']}/ticket-types")).json()["data"][0]
    cases: list[tuple[Any, str]] = [
        ({"items": [{"ticket_type_id": open_type["id"], "quantity": 3}]}, "items[0].quantity"),
        ({"items": [{"ticket_type_id": later["id"], "quantity": 1}]}, "items[0].ticket_type_id"),
        ({"items": [{"ticket_type_id": closed["id"], "quantity": 1}]}, "items[0].ticket_type_id"),
        ({"items": [{"ticket_type_id": foreign["id"], "quantity": 1}]}, "items[0].ticket_type_id"),
        (
            {
                "items": [
                    {"ticket_type_id": open_type["id"], "quantity": 1},
                    {"ticket_type_id": open_type["id"], "quantity": 1},
                ]
            },
            "items[1].ticket_type_id",
        ),
        ({"items": []}, "items"),
        ({"items": [{"ticket_type_id": open_type["id"], "quantity": 0}]}, "items.0.quantity"),
        ({"items": [{"ticket_type_id": open_type["id"], "quantity": "1"}]}, "items.0.quantity"),
        ({"items": [{"ticket_type_id": "nope", "quantity": 1}]}, "items.0.ticket_type_id"),
        (
            {"items": [{"ticket_type_id": open_type["id"], "quantity": 1}], "promo_code": "NOPE"},
            "promo_code",
        ),
        ({"items": [{"ticket_type_id": open_type["id"], "quantity": 1}], "extra": 1}, "extra"),
    ]
    for body, field in cases:
        response = await client.post(
            f"{API}/events/{event['id']}/orders", json=body, headers=buyer.headers
        )
        assert_problem(response, 422, field)
    assert await _counters(app, open_type["id"]) == (0, 0)
    async with app.state.resources.database.write_sessions() as session:
        mine = await session.scalars(select(Order).where(Order.user_id == uuid.UUID(buyer.user_id)))
        assert list(mine) == []


async def test_orders_need_a_published_running_event(client: httpx.AsyncClient) -> None:
    crew = await tenant(client)
    buyer = await register(client)
    draft = await create_event(client, crew.org_id, crew.admin)
    draft_type = await add_ticket_type(client, draft["id"], crew.admin)
    assert_problem(await _buy(client, buyer, draft["id"], [(draft_type["id"], 1)]), 404)
    event_id, tt = await _event(client)
    anonymous = await client.post(
        f"{API}/events/{event_id}/orders",
        json={"items": [{"ticket_type_id": tt, "quantity": 1}]},
    )
    assert_problem(anonymous, 401)


async def test_cancelled_event_cancels_and_refunds_open_orders(
    client: httpx.AsyncClient, app: Any
) -> None:
    crew = await tenant(client)
    event = await published_event(client, crew.org_id, crew.admin, ticket={"quantity": 5})
    tt = (await client.get(f"{API}/events/{event['id']}/ticket-types")).json()["data"][0]["id"]
    paying, holding = await register(client), await register(client)
    paid = (await _buy(client, paying, event["id"], [(tt, 2)])).json()
    await client.post(f"{API}/orders/{paid['id']}/pay", json=GOOD_CARD, headers=paying.headers)
    held = (await _buy(client, holding, event["id"], [(tt, 1)])).json()
    cancelled = await client.post(f"{API}/events/{event['id']}/cancel", headers=crew.admin.headers)
    assert cancelled.status_code == 200
    first = (await client.get(f"{API}/orders/{paid['id']}", headers=paying.headers)).json()
    second = (await client.get(f"{API}/orders/{held['id']}", headers=holding.headers)).json()
    assert first["status"] == second["status"] == "cancelled"
    # The refund is a job (one provider call per order does not belong in the request).
    assert first["payment"]["status"] == "captured"
    resources = app.state.resources
    context = JobContext(resources.settings, resources.database, resources.cache)
    assert await run_due(context, only={"payments.settle_cancelled_order"}) >= 1
    first = (await client.get(f"{API}/orders/{paid['id']}", headers=paying.headers)).json()
    assert first["payment"]["status"] == "refunded"
    assert {t["status"] for t in first["tickets"]} == {"void"}
    assert await _counters(app, tt) == (0, 0)
    problem = assert_problem(await _buy(client, holding, event["id"], [(tt, 1)]), 409)
    assert problem["type"].endswith("/event-cancelled")


async def test_event_capacity_is_shared_by_its_ticket_types(
    client: httpx.AsyncClient, app: Any
) -> None:
    crew = await tenant(client)
    event = await create_event(client, crew.org_id, crew.admin, capacity=3)
    assert event["capacity"] == 3
    general = await add_ticket_type(client, event["id"], crew.admin, quantity=3)
    vip = await add_ticket_type(client, event["id"], crew.admin, name="VIP", quantity=3)
    await publish(client, event["id"], crew.admin)
    buyer = await register(client)
    assert (await _buy(client, buyer, event["id"], [(general["id"], 2)])).status_code == 201
    types = (await client.get(f"{API}/events/{event['id']}/ticket-types")).json()["data"]
    assert [t["available"] for t in types] == [1, 1]
    assert (await client.get(f"{API}/events/{event['id']}")).json()["available"] == 1
    problem = assert_problem(await _buy(client, buyer, event["id"], [(vip["id"], 2)]), 409)
    assert problem["type"].endswith("/sold-out")
    assert (await _buy(client, buyer, event["id"], [(vip["id"], 1)])).status_code == 201
    assert (await client.get(f"{API}/events/{event['id']}")).json()["available"] == 0
    # Capacity cannot drop below what is held; it can be raised or removed.
    low = await client.patch(
        f"{API}/events/{event['id']}", json={"capacity": 2}, headers=crew.admin.headers
    )
    assert_problem(low, 409)
    raised = await client.patch(
        f"{API}/events/{event['id']}", json={"capacity": None}, headers=crew.admin.headers
    )
    assert raised.status_code == 200 and raised.json()["capacity"] is None
    assert (await client.get(f"{API}/events/{event['id']}")).json()["available"] == 3
