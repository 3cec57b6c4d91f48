"""Waiting lists over HTTP: queueing for a sold-out ticket type, offers when seats come back.

API.md: ``POST /ticket-types/{id}/waitlist`` (signed-in; only when sold out, else 409; twice →
409) answers ``{position}``; ``DELETE`` leaves; ``GET /me/waitlist`` lists the caller's places.
An offer is a pending order holding the seats for the first in line until ``offer_expires_at``,
paid with ``POST /orders/{id}/pay``. Strictly first come, first offered.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from boxoffice.ticketing.sweep import SweepResult, sweep_once
from tests.helpers import (
    API,
    Account,
    Tenant,
    add_ticket_type,
    assert_problem,
    create_event,
    published_event,
    register,
    tenant,
)

GOOD_CARD = "4242424242424242"


# --- plumbing ---------------------------------------------------------------------------------


async def _event(client: httpx.AsyncClient, **ticket: Any) -> tuple[Tenant, str, str]:
    crew = await tenant(client)
    event = await published_event(client, crew.org_id, crew.admin, ticket=ticket or None)
    types = (await client.get(f"{API}/events/{event['id']}/ticket-types")).json()["data"]
    return crew, event["id"], types[0]["id"]


async def buy(
    client: httpx.AsyncClient, buyer: Account, event_id: str, tt: str, n: int = 1
) -> httpx.Response:
    return await client.post(
        f"{API}/events/{event_id}/orders",
        json={"items": [{"ticket_type_id": tt, "quantity": n}]},
        headers=buyer.headers,
    )


async def pay(client: httpx.AsyncClient, buyer: Account, order_id: str) -> httpx.Response:
    return await client.post(
        f"{API}/orders/{order_id}/pay",
        json={"payment_method": {"type": "test_card", "number": GOOD_CARD}},
        headers=buyer.headers,
    )


async def bought(
    client: httpx.AsyncClient, buyer: Account, event_id: str, tt: str, n: int = 1
) -> dict[str, Any]:
    """A paid order of ``n`` seats."""
    response = await buy(client, buyer, event_id, tt, n)
    assert response.status_code == 201, response.text
    response = await pay(client, buyer, response.json()["id"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def cancel_order(client: httpx.AsyncClient, by: Account, order_id: str) -> dict[str, Any]:
    response = await client.post(f"{API}/orders/{order_id}/cancel", headers=by.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def join(
    client: httpx.AsyncClient, who: Account | None, tt: str, quantity: int | None = None
) -> httpx.Response:
    return await client.post(
        f"{API}/ticket-types/{tt}/waitlist",
        json={} if quantity is None else {"quantity": quantity},
        headers=who.headers if who else {},
    )


async def joined(
    client: httpx.AsyncClient, who: Account, tt: str, quantity: int | None = None
) -> dict[str, Any]:
    response = await join(client, who, tt, quantity)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def leave(client: httpx.AsyncClient, who: Account | None, tt: str) -> httpx.Response:
    return await client.delete(
        f"{API}/ticket-types/{tt}/waitlist", headers=who.headers if who else {}
    )


async def place(client: httpx.AsyncClient, who: Account, tt: str) -> dict[str, Any] | None:
    """The caller's place on ``tt``'s list, from ``GET /me/waitlist``."""
    response = await client.get(f"{API}/me/waitlist", headers=who.headers)
    assert response.status_code == 200, response.text
    mine = [p for p in response.json()["data"] if p["ticket_type_id"] == tt]
    assert len(mine) <= 1, mine
    return mine[0] if mine else None


async def available(client: httpx.AsyncClient, event_id: str) -> int:
    types = (await client.get(f"{API}/events/{event_id}/ticket-types")).json()["data"]
    left: int = types[0]["available"]
    return left


async def get_order_response(
    client: httpx.AsyncClient, who: Account, order_id: str
) -> httpx.Response:
    return await client.get(f"{API}/orders/{order_id}", headers=who.headers)


async def get_order(client: httpx.AsyncClient, who: Account, order_id: str) -> dict[str, Any]:
    response = await get_order_response(client, who, order_id)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def sweep(app: FastAPI, now: datetime) -> SweepResult:
    """The periodic sweep, run once at ``now`` (lapsed holds and offers expire, seats move on)."""
    resources = app.state.resources
    return await sweep_once(
        resources.database,
        resources.cache,
        now=now,
        offer_for=timedelta(seconds=resources.settings.waitlist_offer_seconds),
    )


async def sold_out(
    client: httpx.AsyncClient, quantity: int = 1, **ticket: Any
) -> tuple[Tenant, str, str, Account, dict[str, Any]]:
    """A published event whose only ticket type one holder bought up in one paid order."""
    crew, event_id, tt = await _event(client, quantity=quantity, **ticket)
    holder = await register(client, name="Holder")
    order = await bought(client, holder, event_id, tt, quantity)
    assert await available(client, event_id) == 0
    return crew, event_id, tt, holder, order


# --- joining and leaving ----------------------------------------------------------------------


async def test_join_only_when_sold_out(client: httpx.AsyncClient) -> None:
    _, event_id, tt = await _event(client, quantity=2)
    fan, holder = await register(client), await register(client)
    problem = assert_problem(await join(client, fan, tt), 409)
    assert problem["type"].endswith("/not-sold-out")
    await bought(client, holder, event_id, tt, 1)
    assert_problem(await join(client, fan, tt), 409)
    assert await place(client, fan, tt) is None

    await bought(client, holder, event_id, tt, 1)
    response = await join(client, fan, tt)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["position"] == 1
    assert body["status"] == "waiting"
    assert body["ticket_type_id"] == tt and body["event_id"] == event_id
    assert body["quantity"] == 1
    assert body["order_id"] is None and body["offer_expires_at"] is None
    assert await place(client, fan, tt) == body


async def test_joining_twice_is_409(client: httpx.AsyncClient) -> None:
    _, _, tt, _, _ = await sold_out(client)
    fan = await register(client)
    await joined(client, fan, tt)
    problem = assert_problem(await join(client, fan, tt), 409)
    assert problem["type"].endswith("/already-on-waitlist")
    assert_problem(await join(client, fan, tt, quantity=2), 409)
    assert (await place(client, fan, tt) or {})["position"] == 1


async def test_positions_are_first_come_first_served(client: httpx.AsyncClient) -> None:
    _, _, tt, _, _ = await sold_out(client)
    first, second, third = [await register(client) for _ in range(3)]
    assert [(await joined(client, who, tt))["position"] for who in (first, second, third)] == [
        1,
        2,
        3,
    ]
    for position, who in enumerate((first, second, third), start=1):
        mine = await place(client, who, tt)
        assert mine is not None and mine["position"] == position and mine["status"] == "waiting"

    response = await leave(client, second, tt)
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert await place(client, second, tt) is None
    assert (await place(client, first, tt) or {})["position"] == 1
    assert (await place(client, third, tt) or {})["position"] == 2
    # leaving a list you are not on
    problem = assert_problem(await leave(client, second, tt), 404)
    assert problem["type"].endswith("/not-on-waitlist")
    # joining again puts you at the back
    assert (await joined(client, second, tt))["position"] == 3


async def test_my_waitlist_lists_every_place(client: httpx.AsyncClient) -> None:
    _, event_a, tt_a, _, _ = await sold_out(client)
    _, event_b, tt_b, _, _ = await sold_out(client, quantity=2, max_per_order=4)
    fan = await register(client)
    assert (await client.get(f"{API}/me/waitlist", headers=fan.headers)).json() == {
        "data": [],
        "next_cursor": None,
    }
    await joined(client, fan, tt_a)
    await joined(client, fan, tt_b, quantity=3)
    data = (await client.get(f"{API}/me/waitlist", headers=fan.headers)).json()["data"]
    assert [(p["ticket_type_id"], p["event_id"], p["quantity"]) for p in data] == [
        (tt_a, event_a, 1),
        (tt_b, event_b, 3),
    ]
    assert {p["status"] for p in data} == {"waiting"}
    assert_problem(await client.get(f"{API}/me/waitlist"), 401)


async def test_quantity_is_bounded_by_max_per_order(client: httpx.AsyncClient) -> None:
    _, _, tt, _, _ = await sold_out(client, max_per_order=2)
    fan = await register(client)
    assert_problem(await join(client, fan, tt, quantity=3), 422, "quantity")
    for bad in (0, -1, "2", 1.5):
        response = await client.post(
            f"{API}/ticket-types/{tt}/waitlist", json={"quantity": bad}, headers=fan.headers
        )
        assert_problem(response, 422, "quantity")
    assert await place(client, fan, tt) is None
    assert (await joined(client, fan, tt, quantity=2))["quantity"] == 2


async def test_draft_event_ticket_type_is_404(client: httpx.AsyncClient) -> None:
    crew = await tenant(client)
    event = await create_event(client, crew.org_id, crew.admin)
    draft_tt = (await add_ticket_type(client, event["id"], crew.admin, quantity=1))["id"]
    fan = await register(client)
    for who in (fan, crew.outsider, crew.admin, crew.owner):
        problem = assert_problem(await join(client, who, draft_tt), 404)
        assert problem["type"].endswith("/ticket-type-not-found")
        assert_problem(await leave(client, who, draft_tt), 404)
    unknown = "00000000-0000-4000-8000-000000000000"
    assert_problem(await join(client, fan, unknown), 404)
    assert_problem(await join(client, fan, "not-an-id"), 404)


async def test_anonymous_is_401(client: httpx.AsyncClient) -> None:
    _, _, tt, _, _ = await sold_out(client)
    problem = assert_problem(await join(client, None, tt), 401)
    assert problem["status"] == 401
    assert_problem(await leave(client, None, tt), 401)
    bad_token = {"Authorization": "Bearer not-a-token"}
    assert_problem(await client.post(f"{API}/ticket-types/{tt}/waitlist", headers=bad_token), 401)


async def test_cancelled_event_is_409_and_ends_the_list(client: httpx.AsyncClient) -> None:
    crew, event_id, tt, _, _ = await sold_out(client)
    waiting = await register(client)
    await joined(client, waiting, tt)
    response = await client.post(f"{API}/events/{event_id}/cancel", headers=crew.admin.headers)
    assert response.status_code == 200, response.text

    latecomer = await register(client)
    problem = assert_problem(await join(client, latecomer, tt), 409)
    assert problem["type"].endswith("/event-cancelled")
    assert await place(client, latecomer, tt) is None
    # whoever was waiting is told the list is over
    assert (await place(client, waiting, tt) or {})["status"] == "expired"


# --- offers -----------------------------------------------------------------------------------


async def test_a_returned_seat_is_offered_to_the_first_in_line(client: httpx.AsyncClient) -> None:
    _, event_id, tt, holder, order = await sold_out(client, quantity=1, price_amount=3000)
    first, second = await register(client, name="First Fan"), await register(client)
    await joined(client, first, tt)
    await joined(client, second, tt)

    await cancel_order(client, holder, order["id"])

    offer = await place(client, first, tt)
    assert offer is not None
    assert offer["status"] == "offered"
    assert offer["order_id"] and offer["offer_expires_at"]
    assert offer["position"] is None
    # the offer is a pending order of the first in line, holding the seat until the offer ends
    offered = await get_order(client, first, offer["order_id"])
    assert offered["status"] == "pending"
    assert offered["event_id"] == event_id
    assert [(i["ticket_type_id"], i["quantity"], i["unit_amount"]) for i in offered["items"]] == [
        (tt, 1, 3000)
    ]
    assert offered["total_amount"] == 3000
    assert datetime.fromisoformat(offered["expires_at"]) == datetime.fromisoformat(
        offer["offer_expires_at"]
    )
    # nobody else can have the seat meanwhile
    assert await available(client, event_id) == 0
    problem = assert_problem(await buy(client, await register(client), event_id, tt), 409)
    assert problem["type"].endswith("/sold-out")
    assert_problem(await get_order_response(client, second, offer["order_id"]), 404)
    # the second is now first among those waiting
    assert (await place(client, second, tt) or {})["position"] == 1

    paid = await pay(client, first, offer["order_id"])
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "confirmed"
    assert len(paid.json()["tickets"]) == 1
    assert paid.json()["tickets"][0]["attendee_name"] == "First Fan"
    claimed = await place(client, first, tt)
    assert claimed is not None and claimed["status"] == "claimed"
    assert claimed["order_id"] == offer["order_id"]
    assert (await place(client, second, tt) or {})["status"] == "waiting"
    assert await available(client, event_id) == 0


async def test_a_lapsed_offer_expires_and_passes_to_the_next(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, event_id, tt, holder, order = await sold_out(client)
    first, second, third = [await register(client) for _ in range(3)]
    for who in (first, second, third):
        await joined(client, who, tt)
    await cancel_order(client, holder, order["id"])
    offer = await place(client, first, tt)
    assert offer is not None and offer["status"] == "offered"

    lapsed_at = datetime.fromisoformat(offer["offer_expires_at"]) + timedelta(seconds=1)
    result = await sweep(app, lapsed_at)
    assert result.expired_orders >= 1 and result.offers >= 1

    gone = await place(client, first, tt)
    assert gone is not None and gone["status"] == "expired"
    assert (await get_order(client, first, offer["order_id"]))["status"] == "expired"
    assert_problem(await pay(client, first, offer["order_id"]), 409)

    passed = await place(client, second, tt)
    assert passed is not None and passed["status"] == "offered"
    assert passed["order_id"] not in (None, offer["order_id"])
    assert datetime.fromisoformat(passed["offer_expires_at"]) > lapsed_at
    assert (await get_order(client, second, passed["order_id"]))["status"] == "pending"
    assert (await place(client, third, tt) or {})["position"] == 1
    assert await available(client, event_id) == 0

    # the one whose offer lapsed may queue again, behind everyone
    assert (await joined(client, first, tt))["position"] == 2


async def test_leaving_while_offered_passes_the_offer_on(client: httpx.AsyncClient) -> None:
    _, event_id, tt, holder, order = await sold_out(client)
    first, second = await register(client), await register(client)
    await joined(client, first, tt)
    await joined(client, second, tt)
    await cancel_order(client, holder, order["id"])
    offer = await place(client, first, tt)
    assert offer is not None and offer["status"] == "offered"

    response = await leave(client, first, tt)
    assert response.status_code == 204, response.text
    assert await place(client, first, tt) is None
    declined = await get_order(client, first, offer["order_id"])
    assert declined["status"] == "cancelled"

    passed = await place(client, second, tt)
    assert passed is not None and passed["status"] == "offered"
    assert passed["order_id"] != offer["order_id"]
    assert await available(client, event_id) == 0
    paid = await pay(client, second, passed["order_id"])
    assert paid.status_code == 200, paid.text
    assert (await place(client, second, tt) or {})["status"] == "claimed"


async def test_strictly_first_in_line_even_when_they_want_more(
    client: httpx.AsyncClient,
) -> None:
    _, event_id, tt = await _event(client, quantity=3, max_per_order=4, price_amount=1000)
    one_seat, two_seats = await register(client), await register(client)
    single = await bought(client, one_seat, event_id, tt, 1)
    double = await bought(client, two_seats, event_id, tt, 2)
    wants_two, wants_one = await register(client), await register(client)
    await joined(client, wants_two, tt, quantity=2)
    await joined(client, wants_one, tt, quantity=1)

    # one seat comes back: not enough for the first in line, and the second does not jump ahead
    await cancel_order(client, one_seat, single["id"])
    assert (await place(client, wants_two, tt) or {})["status"] == "waiting"
    assert (await place(client, wants_one, tt) or {})["status"] == "waiting"
    assert (await place(client, wants_one, tt) or {})["position"] == 2
    assert await available(client, event_id) == 1

    # two more come back: the first gets their two, then the second their one
    await cancel_order(client, two_seats, double["id"])
    first = await place(client, wants_two, tt)
    second = await place(client, wants_one, tt)
    assert first is not None and first["status"] == "offered"
    assert second is not None and second["status"] == "offered"
    assert [
        i["quantity"] for i in (await get_order(client, wants_two, first["order_id"]))["items"]
    ] == [2]
    offered = await get_order(client, wants_one, second["order_id"])
    assert [i["quantity"] for i in offered["items"]] == [1]
    assert offered["total_amount"] == 1000
    assert await available(client, event_id) == 0


async def test_no_offers_once_the_event_is_over(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, event_id, tt = await _event(client, quantity=1)
    holder, fan = await register(client), await register(client)
    held = await buy(client, holder, event_id, tt)  # pending: the hold lapses later
    assert held.status_code == 201, held.text
    await joined(client, fan, tt)
    event = (await client.get(f"{API}/events/{event_id}")).json()
    after_the_end = datetime.fromisoformat(event["ends_at"]) + timedelta(minutes=5)

    await sweep(app, after_the_end)
    assert (await get_order(client, holder, held.json()["id"]))["status"] == "expired"
    # the seat came back after the event ended: nobody is offered (and charged for) it
    still = await place(client, fan, tt)
    assert still is not None and still["status"] == "waiting" and still["order_id"] is None


async def test_no_offers_once_sales_have_closed(client: httpx.AsyncClient, app: FastAPI) -> None:
    sales_end = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    _, event_id, tt = await _event(client, quantity=1, sales_end=sales_end.isoformat())
    holder, fan = await register(client), await register(client)
    held = await buy(client, holder, event_id, tt)
    assert held.status_code == 201, held.text
    await joined(client, fan, tt)

    await sweep(app, sales_end + timedelta(minutes=5))
    assert (await get_order(client, holder, held.json()["id"]))["status"] == "expired"
    still = await place(client, fan, tt)
    assert still is not None and still["status"] == "waiting" and still["order_id"] is None
