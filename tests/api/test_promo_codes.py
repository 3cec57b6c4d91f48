"""Promo codes over HTTP: creating them (admin+), and what they do to an order.

API.md: ``POST /events/{id}/promo-codes`` takes exactly one of ``percent_off`` (1 to 100) or
``amount_off``; a duplicate code in the event is 409. An order with ``promo_code`` shows the
reduction in ``discount_amount``; an unknown, expired, used-up or inapplicable code is a 422
naming ``promo_code``; ``max_uses`` is never exceeded, and a use comes back when its order
expires or is cancelled.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from boxoffice.db.session import take_changes
from boxoffice.ticketing.orders import release_expired
from tests.helpers import (
    API,
    Account,
    Tenant,
    add_ticket_type,
    assert_problem,
    create_event,
    publish,
    register,
    tenant,
)

GOOD_CARD = "4242424242424242"


# --- plumbing ---------------------------------------------------------------------------------


async def _event(
    client: httpx.AsyncClient, *prices: int, quantity: int = 50
) -> tuple[Tenant, str, list[str]]:
    """A published event with one ticket type per price (EUR); returns its ticket type ids."""
    crew = await tenant(client)
    event = await create_event(client, crew.org_id, crew.admin)
    ticket_type_ids = [
        (
            await add_ticket_type(
                client,
                event["id"],
                crew.admin,
                name=f"Type {index}",
                price_amount=price,
                quantity=quantity,
            )
        )["id"]
        for index, price in enumerate(prices or (2500,))
    ]
    await publish(client, event["id"], crew.admin)
    return crew, event["id"], ticket_type_ids


async def create_code(
    client: httpx.AsyncClient, event_id: str, by: Account, **fields: Any
) -> httpx.Response:
    return await client.post(
        f"{API}/events/{event_id}/promo-codes", json=fields, headers=by.headers
    )


async def new_code(
    client: httpx.AsyncClient, event_id: str, by: Account, **fields: Any
) -> dict[str, Any]:
    response = await create_code(client, event_id, by, **fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def codes_of(client: httpx.AsyncClient, event_id: str, by: Account) -> dict[str, int]:
    """code → uses."""
    response = await client.get(f"{API}/events/{event_id}/promo-codes", headers=by.headers)
    assert response.status_code == 200, response.text
    return {code["code"]: code["uses"] for code in response.json()["data"]}


async def order(
    client: httpx.AsyncClient,
    buyer: Account,
    event_id: str,
    lines: dict[str, int],
    promo_code: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {
        "items": [{"ticket_type_id": tt, "quantity": n} for tt, n in lines.items()]
    }
    if promo_code is not None:
        body["promo_code"] = promo_code
    return await client.post(f"{API}/events/{event_id}/orders", json=body, headers=buyer.headers)


async def placed(
    client: httpx.AsyncClient,
    buyer: Account,
    event_id: str,
    lines: dict[str, int],
    promo_code: str | None = None,
) -> dict[str, Any]:
    response = await order(client, buyer, event_id, lines, promo_code)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def expire_holds(app: FastAPI, now: datetime, ticket_type_ids: list[str]) -> list[Any]:
    """What the sweep does when the clock passes ``expires_at``: expire the lapsed holds."""
    resources = app.state.resources
    async with resources.database.write_sessions() as session, session.begin():
        expired = await release_expired(
            session, now=now, ticket_type_ids=[uuid.UUID(tt) for tt in ticket_type_ids]
        )
        topics = take_changes(session)
    if topics:
        await resources.cache.bump(*sorted(topics))
    return expired


# --- creating codes ---------------------------------------------------------------------------


async def test_code_is_stored_upper_case_and_matched_case_insensitively(
    client: httpx.AsyncClient,
) -> None:
    crew, event_id, [tt] = await _event(client, 2000)
    created = await new_code(client, event_id, crew.admin, code="summer-Sale_10", percent_off=10)
    assert created["code"] == "SUMMER-SALE_10"
    assert created["percent_off"] == 10 and created["amount_off"] is None
    assert created["uses"] == 0 and created["event_id"] == event_id
    assert created["ticket_type_ids"] is None and created["max_uses"] is None

    buyer = await register(client)
    body = await placed(client, buyer, event_id, {tt: 1}, promo_code="Summer-sale_10")
    assert body["promo_code"] == "SUMMER-SALE_10"
    assert body["discount_amount"] == 200 and body["total_amount"] == 1800
    body = await placed(client, buyer, event_id, {tt: 1}, promo_code="  summer-sale_10 ")
    assert body["discount_amount"] == 200
    assert (await codes_of(client, event_id, crew.admin)) == {"SUMMER-SALE_10": 2}


async def test_exactly_one_of_percent_off_and_amount_off(client: httpx.AsyncClient) -> None:
    crew, event_id, _ = await _event(client)
    for fields in ({}, {"percent_off": 10, "amount_off": 500}):
        problem = assert_problem(
            await create_code(client, event_id, crew.admin, code="BOTH", **fields), 422
        )
        named = {error["field"] for error in problem["errors"]}
        assert named & {"body", "percent_off", "amount_off"}, problem
    # an explicit null for the other one is fine
    await new_code(client, event_id, crew.admin, code="AMOUNT", percent_off=None, amount_off=500)
    await new_code(client, event_id, crew.admin, code="PERCENT", amount_off=None, percent_off=5)
    assert (await codes_of(client, event_id, crew.admin)) == {"AMOUNT": 0, "PERCENT": 0}


async def test_percent_off_is_1_to_100(client: httpx.AsyncClient) -> None:
    crew, event_id, _ = await _event(client)
    for bad in (0, -5, 101, 10.5, "10"):
        response = await create_code(client, event_id, crew.admin, code="PCT", percent_off=bad)
        assert_problem(response, 422, "percent_off")
    for good in (1, 100):
        await new_code(client, event_id, crew.admin, code=f"PCT{good}", percent_off=good)
    for bad_amount in (0, -100):
        response = await create_code(
            client, event_id, crew.admin, code="AMT", amount_off=bad_amount
        )
        assert_problem(response, 422, "amount_off")


async def test_code_text_is_validated(client: httpx.AsyncClient) -> None:
    crew, event_id, _ = await _event(client)
    for bad in ("", "AB", "with space", "émoji", "X" * 41, "semi;colon"):
        response = await create_code(client, event_id, crew.admin, code=bad, percent_off=10)
        assert_problem(response, 422, "code")
    assert_problem(await create_code(client, event_id, crew.admin, percent_off=10), 422, "code")


async def test_duplicate_code_in_the_event_is_409(client: httpx.AsyncClient) -> None:
    crew, event_id, _ = await _event(client)
    await new_code(client, event_id, crew.admin, code="EARLY", percent_off=10)
    for again in ("EARLY", "early", "Early"):
        problem = assert_problem(
            await create_code(client, event_id, crew.owner, code=again, amount_off=100), 409
        )
        assert problem["type"].endswith("/promo-code-exists")
    assert (await codes_of(client, event_id, crew.admin)) == {"EARLY": 0}
    # codes are per event: another event of the same organization may have the same one
    sibling = await create_event(client, crew.org_id, crew.admin)
    await new_code(client, sibling["id"], crew.admin, code="early", percent_off=10)
    assert (await codes_of(client, sibling["id"], crew.admin)) == {"EARLY": 0}


async def test_ticket_type_ids_must_belong_to_the_event(client: httpx.AsyncClient) -> None:
    crew, event_id, [tt] = await _event(client)
    _, _, [foreign] = await _event(client)
    for ids in ([foreign], [tt, foreign], [str(uuid.uuid4())]):
        response = await create_code(
            client, event_id, crew.admin, code="ONLYONE", percent_off=10, ticket_type_ids=ids
        )
        assert_problem(response, 422, "ticket_type_ids")
    assert_problem(
        await create_code(
            client, event_id, crew.admin, code="ONLYONE", percent_off=10, ticket_type_ids=[]
        ),
        422,
        "ticket_type_ids",
    )
    assert_problem(
        await create_code(
            client, event_id, crew.admin, code="ONLYONE", percent_off=10, ticket_type_ids=["x"]
        ),
        422,
    )
    created = await new_code(
        client, event_id, crew.admin, code="ONLYONE", percent_off=10, ticket_type_ids=[tt]
    )
    assert created["ticket_type_ids"] == [tt]
    assert (await codes_of(client, event_id, crew.admin)) == {"ONLYONE": 0}


async def test_validity_window(client: httpx.AsyncClient) -> None:
    crew, event_id, _ = await _event(client)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    for end in (start, start - timedelta(hours=1)):
        response = await create_code(
            client,
            event_id,
            crew.admin,
            code="WINDOW",
            percent_off=10,
            valid_from=iso(start),
            valid_until=iso(end),
        )
        assert_problem(response, 422, "valid_until")
    naive = await create_code(
        client,
        event_id,
        crew.admin,
        code="WINDOW",
        percent_off=10,
        valid_from="2027-03-01T10:00:00",
    )
    assert_problem(naive, 422, "valid_from")
    created = await new_code(
        client,
        event_id,
        crew.admin,
        code="WINDOW",
        percent_off=10,
        valid_from=iso(start),
        valid_until=iso(start + timedelta(days=7)),
        max_uses=5,
    )
    assert datetime.fromisoformat(created["valid_from"]) == start
    assert datetime.fromisoformat(created["valid_until"]) == start + timedelta(days=7)
    assert created["max_uses"] == 5


async def test_list_shows_every_code_with_its_uses(client: httpx.AsyncClient) -> None:
    crew, event_id, [tt] = await _event(client)
    await new_code(client, event_id, crew.admin, code="FIRST", percent_off=10)
    await new_code(client, event_id, crew.admin, code="SECOND", amount_off=300, max_uses=9)
    buyer = await register(client)
    await placed(client, buyer, event_id, {tt: 1}, promo_code="second")
    await placed(client, buyer, event_id, {tt: 2}, promo_code="SECOND")
    response = await client.get(f"{API}/events/{event_id}/promo-codes", headers=crew.admin.headers)
    body = response.json()
    assert body["next_cursor"] is None
    assert [(c["code"], c["uses"]) for c in body["data"]] == [("FIRST", 0), ("SECOND", 2)]
    second = body["data"][1]
    assert (second["amount_off"], second["percent_off"], second["max_uses"]) == (300, None, 9)
    # another event's codes are not listed
    sibling = await create_event(client, crew.org_id, crew.admin)
    assert (await codes_of(client, sibling["id"], crew.admin)) == {}


# --- what a code does to an order -------------------------------------------------------------


async def test_percent_off_rounds_down_per_line(client: httpx.AsyncClient) -> None:
    crew, event_id, [cheap, dear] = await _event(client, 999, 1999)
    await new_code(client, event_id, crew.admin, code="FIFTEEN", percent_off=15)
    buyer = await register(client)
    body = await placed(client, buyer, event_id, {cheap: 1, dear: 3}, promo_code="FIFTEEN")
    # 999 * 15 % = 149.85 → 149; 5997 * 15 % = 899.55 → 899 (not 6996 * 15 % = 1049.4 → 1049)
    discounts = {item["ticket_type_id"]: item["discount_amount"] for item in body["items"]}
    assert discounts == {cheap: 149, dear: 899}
    assert body["subtotal_amount"] == 6996
    assert body["discount_amount"] == 1048
    assert body["total_amount"] == 6996 - 1048
    assert body["status"] == "pending"


async def test_amount_off_is_capped_at_the_eligible_subtotal(client: httpx.AsyncClient) -> None:
    crew, event_id, [eligible, other] = await _event(client, 1500, 2000)
    await new_code(
        client, event_id, crew.admin, code="FIFTYOFF", amount_off=5000, ticket_type_ids=[eligible]
    )
    await new_code(client, event_id, crew.admin, code="SEVEN", amount_off=700)
    buyer = await register(client)
    body = await placed(client, buyer, event_id, {eligible: 2, other: 1}, promo_code="FIFTYOFF")
    assert body["subtotal_amount"] == 5000
    assert body["discount_amount"] == 3000  # the eligible 2 * 1500, not 5000
    assert body["total_amount"] == 2000
    discounts = {item["ticket_type_id"]: item["discount_amount"] for item in body["items"]}
    assert discounts == {eligible: 3000, other: 0}
    assert body["status"] == "pending"

    body = await placed(client, buyer, event_id, {other: 1}, promo_code="SEVEN")
    assert (body["discount_amount"], body["total_amount"]) == (700, 1300)
    body = await placed(client, buyer, event_id, {eligible: 1, other: 1}, promo_code="SEVEN")
    assert body["discount_amount"] == 700 and body["total_amount"] == 2800
    assert sum(item["discount_amount"] for item in body["items"]) == 700


async def test_amount_off_larger_than_the_order_makes_it_free(client: httpx.AsyncClient) -> None:
    crew, event_id, [tt] = await _event(client, 1200, quantity=5)
    await new_code(client, event_id, crew.admin, code="COMP", amount_off=10_000)
    buyer = await register(client)
    body = await placed(client, buyer, event_id, {tt: 2}, promo_code="COMP")
    assert (body["discount_amount"], body["total_amount"]) == (2400, 0)
    assert body["status"] == "confirmed" and len(body["tickets"]) == 2


async def test_a_100_percent_code_confirms_the_order_at_once(client: httpx.AsyncClient) -> None:
    crew, event_id, [tt] = await _event(client, 4500, quantity=3)
    await new_code(client, event_id, crew.admin, code="GUESTLIST", percent_off=100)
    buyer = await register(client, name="Grace Guest")
    body = await placed(client, buyer, event_id, {tt: 2}, promo_code="guestlist")
    assert body["status"] == "confirmed"
    assert body["confirmed_at"] is not None
    assert (body["subtotal_amount"], body["discount_amount"], body["total_amount"]) == (
        9000,
        9000,
        0,
    )
    assert len(body["tickets"]) == 2
    assert {t["status"] for t in body["tickets"]} == {"valid"}
    assert {t["attendee_name"] for t in body["tickets"]} == {"Grace Guest"}
    types = (await client.get(f"{API}/events/{event_id}/ticket-types")).json()["data"]
    assert types[0]["available"] == 1
    stored = await client.get(f"{API}/orders/{body['id']}", headers=buyer.headers)
    assert stored.json()["status"] == "confirmed" and len(stored.json()["tickets"]) == 2
    assert (await codes_of(client, event_id, crew.admin)) == {"GUESTLIST": 1}


async def test_a_restricted_100_percent_code_leaves_the_rest_to_pay(
    client: httpx.AsyncClient,
) -> None:
    crew, event_id, [free_one, paid_one] = await _event(client, 1000, 3000)
    await new_code(
        client, event_id, crew.admin, code="HALFFREE", percent_off=100, ticket_type_ids=[free_one]
    )
    buyer = await register(client)
    body = await placed(client, buyer, event_id, {free_one: 1, paid_one: 1}, promo_code="HALFFREE")
    assert (body["discount_amount"], body["total_amount"]) == (1000, 3000)
    assert body["status"] == "pending" and body["tickets"] == []


async def test_code_restricted_to_other_ticket_types_is_422(client: httpx.AsyncClient) -> None:
    crew, event_id, [vip, general] = await _event(client, 9000, 2000)
    await new_code(
        client, event_id, crew.admin, code="VIPONLY", percent_off=20, ticket_type_ids=[vip]
    )
    buyer = await register(client)
    problem = assert_problem(
        await order(client, buyer, event_id, {general: 1}, promo_code="VIPONLY"), 422, "promo_code"
    )
    assert problem["status"] == 422
    body = await placed(client, buyer, event_id, {vip: 1, general: 1}, promo_code="VIPONLY")
    assert body["discount_amount"] == 1800  # only the VIP line
    assert (await codes_of(client, event_id, crew.admin)) == {"VIPONLY": 1}


async def test_unusable_codes_are_422_naming_promo_code(client: httpx.AsyncClient) -> None:
    crew, event_id, [tt] = await _event(client)
    now = datetime.now(UTC)
    await new_code(
        client,
        event_id,
        crew.admin,
        code="EXPIRED",
        percent_off=10,
        valid_from=iso(now - timedelta(days=10)),
        valid_until=iso(now - timedelta(days=1)),
    )
    await new_code(
        client,
        event_id,
        crew.admin,
        code="LATER",
        percent_off=10,
        valid_from=iso(now + timedelta(days=1)),
    )
    await new_code(client, event_id, crew.admin, code="ONCE", percent_off=10, max_uses=1)
    await new_code(
        client,
        event_id,
        crew.admin,
        code="NOW",
        percent_off=10,
        valid_from=iso(now - timedelta(days=1)),
        valid_until=iso(now + timedelta(days=1)),
    )
    other_crew, other_event_id, _ = await _event(client)
    await new_code(client, other_event_id, other_crew.admin, code="ELSEWHERE", percent_off=50)

    buyer = await register(client)
    await placed(client, buyer, event_id, {tt: 1}, promo_code="ONCE")
    for code in ("NOSUCHCODE", "EXPIRED", "LATER", "ONCE", "ELSEWHERE"):
        assert_problem(
            await order(client, buyer, event_id, {tt: 1}, promo_code=code), 422, "promo_code"
        )
    assert (await placed(client, buyer, event_id, {tt: 1}, promo_code="NOW"))[
        "discount_amount"
    ] == 250
    # a refused code neither holds seats nor counts a use
    types = (await client.get(f"{API}/events/{event_id}/ticket-types")).json()["data"]
    assert types[0]["available"] == 50 - 2
    assert (await codes_of(client, event_id, crew.admin)) == {
        "EXPIRED": 0,
        "LATER": 0,
        "ONCE": 1,
        "NOW": 1,
    }


async def test_a_use_comes_back_when_a_pending_order_expires(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    crew, event_id, [tt] = await _event(client)
    await new_code(client, event_id, crew.admin, code="SINGLE", percent_off=25, max_uses=1)
    first, second = await register(client), await register(client)
    held = await placed(client, first, event_id, {tt: 1}, promo_code="SINGLE")
    assert (await codes_of(client, event_id, crew.admin)) == {"SINGLE": 1}
    assert_problem(
        await order(client, second, event_id, {tt: 1}, promo_code="SINGLE"), 422, "promo_code"
    )

    after = datetime.fromisoformat(held["expires_at"]) + timedelta(seconds=1)
    expired = await expire_holds(app, after, [tt])
    assert str(held["id"]) in {str(order_id) for order_id in expired}
    # expiring again gives nothing back twice
    assert await expire_holds(app, after, [tt]) == []
    stored = await client.get(f"{API}/orders/{held['id']}", headers=first.headers)
    assert stored.json()["status"] == "expired"
    assert (await codes_of(client, event_id, crew.admin)) == {"SINGLE": 0}

    again = await placed(client, second, event_id, {tt: 1}, promo_code="SINGLE")
    assert again["discount_amount"] == 625
    assert (await codes_of(client, event_id, crew.admin)) == {"SINGLE": 1}


async def test_a_use_comes_back_when_an_order_is_cancelled(client: httpx.AsyncClient) -> None:
    crew, event_id, [tt] = await _event(client)
    await new_code(client, event_id, crew.admin, code="SINGLE", amount_off=500, max_uses=1)
    first, second = await register(client), await register(client)

    pending = await placed(client, first, event_id, {tt: 1}, promo_code="SINGLE")
    cancelled = await client.post(f"{API}/orders/{pending['id']}/cancel", headers=first.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert (await codes_of(client, event_id, crew.admin)) == {"SINGLE": 0}

    paid = await placed(client, second, event_id, {tt: 1}, promo_code="SINGLE")
    response = await client.post(
        f"{API}/orders/{paid['id']}/pay",
        json={"payment_method": {"type": "test_card", "number": GOOD_CARD}},
        headers=second.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["total_amount"] == 2000
    assert_problem(
        await order(client, first, event_id, {tt: 1}, promo_code="SINGLE"), 422, "promo_code"
    )
    # the organizer cancels the paid order: refunded, and the use is free again
    cancelled = await client.post(f"{API}/orders/{paid['id']}/cancel", headers=crew.admin.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["payment"]["status"] == "refunded"
    assert (await codes_of(client, event_id, crew.admin)) == {"SINGLE": 0}
    await placed(client, first, event_id, {tt: 1}, promo_code="SINGLE")
    assert (await codes_of(client, event_id, crew.admin)) == {"SINGLE": 1}


async def test_max_uses_is_never_exceeded(client: httpx.AsyncClient) -> None:
    crew, event_id, [tt] = await _event(client)
    await new_code(client, event_id, crew.admin, code="THREE", percent_off=50, max_uses=3)
    buyers = [await register(client) for _ in range(5)]
    statuses = [
        (await order(client, buyer, event_id, {tt: 1}, promo_code="THREE")).status_code
        for buyer in buyers
    ]
    assert statuses == [201, 201, 201, 422, 422]
    assert (await codes_of(client, event_id, crew.admin)) == {"THREE": 3}
    # the refused buyers can still buy without the code
    assert (await order(client, buyers[3], event_id, {tt: 1})).status_code == 201


async def test_order_lists_show_the_code_used(client: httpx.AsyncClient) -> None:
    crew, event_id, [tt] = await _event(client)
    await new_code(client, event_id, crew.admin, code="LISTED", percent_off=10)
    buyer = await register(client)
    with_code = await placed(client, buyer, event_id, {tt: 1}, promo_code="listed")
    without = await placed(client, buyer, event_id, {tt: 1})
    listed = await client.get(f"{API}/events/{event_id}/orders", headers=crew.admin.headers)
    assert listed.status_code == 200, listed.text
    codes = {o["id"]: o["promo_code"] for o in listed.json()["data"]}
    assert codes == {with_code["id"]: "LISTED", without["id"]: None}
    mine = await client.get(f"{API}/me/orders", headers=buyer.headers)
    assert mine.status_code == 200, mine.text
    assert {o["id"]: o["promo_code"] for o in mine.json()["data"]} == codes
