"""Idempotency-Key on order creation, payment and cancellation (API.md, DESIGN.md invariant 2).

Same key + same body → the first response replayed; a different body → 422; the same key while
the first request still runs → 409. The in-flight case is made deterministic on PostgreSQL by
holding a row lock that the first request must wait for.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select, text, update

from boxoffice.core.idempotency import purge_expired, request_fingerprint
from boxoffice.core.idempotency_models import IdempotencyRecord
from boxoffice.core.timestamps import utcnow
from boxoffice.ticketing.models import Order
from tests.conftest import Backend
from tests.helpers import API, Account, assert_problem, published_event, register, tenant

GOOD_CARD = {"payment_method": {"type": "test_card", "number": "4242424242424242"}}


async def _setup(client: httpx.AsyncClient, quantity: int = 10) -> tuple[str, str, Account]:
    crew = await tenant(client)
    event = await published_event(client, crew.org_id, crew.admin, ticket={"quantity": quantity})
    types = (await client.get(f"{API}/events/{event['id']}/ticket-types")).json()["data"]
    return event["id"], types[0]["id"], await register(client)


def _order_body(ticket_type_id: str, quantity: int = 1) -> dict[str, Any]:
    return {"items": [{"ticket_type_id": ticket_type_id, "quantity": quantity}]}


async def _available(client: httpx.AsyncClient, event_id: str) -> int:
    types = (await client.get(f"{API}/events/{event_id}/ticket-types")).json()["data"]
    return int(types[0]["available"])


async def _orders_of(app: Any, user_id: str) -> int:
    async with app.state.resources.database.write_sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(Order).where(Order.user_id == uuid.UUID(user_id))
        )
    return int(count or 0)


async def test_pay_and_cancel_replay_their_first_response(
    client: httpx.AsyncClient, app: Any
) -> None:
    event_id, tt, buyer = await _setup(client)
    order = (
        await client.post(
            f"{API}/events/{event_id}/orders", json=_order_body(tt), headers=buyer.headers
        )
    ).json()
    keyed = {**buyer.headers, "Idempotency-Key": f"pay-{uuid.uuid4()}"}
    first = await client.post(f"{API}/orders/{order['id']}/pay", json=GOOD_CARD, headers=keyed)
    again = await client.post(f"{API}/orders/{order['id']}/pay", json=GOOD_CARD, headers=keyed)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content  # the same tickets, not a second charge
    assert again.headers["idempotent-replayed"] == "true"

    cancel_key = {**buyer.headers, "Idempotency-Key": f"cancel-{uuid.uuid4()}"}
    cancelled = await client.post(f"{API}/orders/{order['id']}/cancel", headers=cancel_key)
    replayed = await client.post(f"{API}/orders/{order['id']}/cancel", headers=cancel_key)
    assert cancelled.status_code == replayed.status_code == 200
    assert cancelled.content == replayed.content
    # Without the key the second cancel is a real request, and a conflict.
    assert_problem(
        await client.post(f"{API}/orders/{order['id']}/cancel", headers=buyer.headers), 409
    )


async def test_error_responses_are_replayed_too(client: httpx.AsyncClient) -> None:
    event_id, tt, buyer = await _setup(client, quantity=1)
    order = (
        await client.post(
            f"{API}/events/{event_id}/orders", json=_order_body(tt), headers=buyer.headers
        )
    ).json()
    keyed = {**buyer.headers, "Idempotency-Key": f"decline-{uuid.uuid4()}"}
    declined = {"payment_method": {"type": "test_card", "number": "4000000000000002"}}
    first = await client.post(f"{API}/orders/{order['id']}/pay", json=declined, headers=keyed)
    again = await client.post(f"{API}/orders/{order['id']}/pay", json=declined, headers=keyed)
    assert first.status_code == again.status_code == 402
    assert first.json() == again.json()
    assert again.headers["content-type"].startswith("application/problem+json")


async def test_same_key_different_body_or_route_is_422(client: httpx.AsyncClient) -> None:
    event_id, tt, buyer = await _setup(client)
    keyed = {**buyer.headers, "Idempotency-Key": f"k-{uuid.uuid4()}"}
    url = f"{API}/events/{event_id}/orders"
    assert (await client.post(url, json=_order_body(tt), headers=keyed)).status_code == 201
    assert_problem(
        await client.post(url, json=_order_body(tt, 2), headers=keyed), 422, "Idempotency-Key"
    )
    # Key order and whitespace do not make a different body.
    same = '{ "items" : [ {"quantity": 1, "ticket_type_id": "' + tt + '"} ] }'
    replay = await client.post(
        url, content=same, headers={**keyed, "Content-Type": "application/json"}
    )
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert await _available(client, event_id) == 9


async def test_keys_belong_to_their_caller(client: httpx.AsyncClient) -> None:
    event_id, tt, buyer = await _setup(client)
    other = await register(client)
    key = f"shared-{uuid.uuid4()}"
    url = f"{API}/events/{event_id}/orders"
    first = await client.post(
        url, json=_order_body(tt), headers={**buyer.headers, "Idempotency-Key": key}
    )
    second = await client.post(
        url, json=_order_body(tt), headers={**other.headers, "Idempotency-Key": key}
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert "idempotent-replayed" not in second.headers


async def test_bad_keys_are_422(client: httpx.AsyncClient) -> None:
    event_id, tt, buyer = await _setup(client)
    url = f"{API}/events/{event_id}/orders"
    for key in ["x" * 256, "tab\tinside"]:
        assert_problem(
            await client.post(
                url, json=_order_body(tt), headers={**buyer.headers, "Idempotency-Key": key}
            ),
            422,
            "Idempotency-Key",
        )
    assert await _available(client, event_id) == 10


async def test_a_claim_in_flight_is_409_and_an_abandoned_one_is_taken_over(
    client: httpx.AsyncClient, app: Any
) -> None:
    """A claim without a response means the first request is still running → 409; once it is
    older than the abandonment limit (its request died) the key can be used again."""
    event_id, tt, buyer = await _setup(client)
    key = f"inflight-{uuid.uuid4()}"
    url = f"{API}/events/{event_id}/orders"
    keyed = {**buyer.headers, "Idempotency-Key": key}
    fingerprint = request_fingerprint("POST", url, orjson.dumps(_order_body(tt)))
    database = app.state.resources.database
    async with database.write_sessions() as session, session.begin():
        session.add(IdempotencyRecord(caller=buyer.user_id, key=key, request_hash=fingerprint))
    problem = assert_problem(await client.post(url, json=_order_body(tt), headers=keyed), 409)
    assert problem["type"].endswith("/idempotency-key-in-use")
    assert await _orders_of(app, buyer.user_id) == 0

    async with database.write_sessions() as session, session.begin():
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == key)
            .values(created_at=utcnow() - timedelta(minutes=5))
        )
    taken_over = await client.post(url, json=_order_body(tt), headers=keyed)
    assert taken_over.status_code == 201
    assert await _orders_of(app, buyer.user_id) == 1


async def test_keys_expire_after_24_hours(client: httpx.AsyncClient, app: Any) -> None:
    event_id, tt, buyer = await _setup(client)
    key = f"old-{uuid.uuid4()}"
    url = f"{API}/events/{event_id}/orders"
    keyed = {**buyer.headers, "Idempotency-Key": key}
    assert (await client.post(url, json=_order_body(tt), headers=keyed)).status_code == 201
    database = app.state.resources.database
    async with database.write_sessions() as session, session.begin():
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == key)
            .values(created_at=utcnow() - timedelta(hours=25))
        )
    fresh = await client.post(url, json=_order_body(tt), headers=keyed)
    assert fresh.status_code == 201 and "idempotent-replayed" not in fresh.headers
    assert await _orders_of(app, buyer.user_id) == 2
    async with database.write_sessions() as session, session.begin():
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == key)
            .values(created_at=utcnow() - timedelta(hours=25))
        )
        assert await purge_expired(session, now=utcnow()) >= 1
        left = await session.scalar(
            select(func.count()).select_from(IdempotencyRecord).where(IdempotencyRecord.key == key)
        )
    assert left == 0


async def test_concurrent_duplicate_gets_409_while_the_first_runs(
    client: httpx.AsyncClient, app: Any, backend: Backend
) -> None:
    """Real concurrency on PostgreSQL: the first request is made to wait on a row lock held by
    the test; the duplicate sent meanwhile must answer 409 at once; after the lock goes the
    first completes and a third try replays it. Exactly one order exists."""
    if backend.name != "postgres":
        pytest.skip("SQLite serializes writers; the in-flight state is covered above")
    event_id, tt, buyer = await _setup(client)
    url = f"{API}/events/{event_id}/orders"
    keyed = {**buyer.headers, "Idempotency-Key": f"race-{uuid.uuid4()}"}
    database = app.state.resources.database
    async with database.write_engine.connect() as blocker:
        transaction = await blocker.begin()
        await blocker.execute(
            text("SELECT id FROM ticket_types WHERE id = :id FOR UPDATE"), {"id": uuid.UUID(tt)}
        )
        first = asyncio.create_task(client.post(url, json=_order_body(tt), headers=keyed))
        # Wait until the first request's claim is committed (it is, before it reaches the lock).
        for _ in range(200):
            async with database.write_sessions() as session:
                claimed = await session.scalar(
                    select(func.count())
                    .select_from(IdempotencyRecord)
                    .where(IdempotencyRecord.key == keyed["Idempotency-Key"])
                )
            if claimed:
                break
            await asyncio.sleep(0.02)
        duplicate = await client.post(url, json=_order_body(tt), headers=keyed)
        assert not first.done()
        await transaction.rollback()
    original = await first
    assert_problem(duplicate, 409)
    assert original.status_code == 201
    replay = await client.post(url, json=_order_body(tt), headers=keyed)
    assert replay.status_code == 201 and replay.json() == original.json()
    assert await _orders_of(app, buyer.user_id) == 1
    assert await _available(client, event_id) == 9
