"""Tickets in the holder's hands: my tickets and orders, one ticket as JSON, QR code and PDF."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.api.test_orders import buy, pay
from tests.helpers import (
    API,
    Account,
    Tenant,
    assert_problem,
    published_event,
    register,
    tenant,
)
from tests.unit.test_ticket_rendering import decode_qr, page_count, svg_matrix


@dataclass
class Sale:
    crew: Tenant
    event: dict[str, Any]
    ticket_type_id: str
    buyer: Account
    order: dict[str, Any]

    @property
    def tickets(self) -> list[dict[str, Any]]:
        tickets: list[dict[str, Any]] = self.order["tickets"]
        return tickets


async def ticket_type_of(client: httpx.AsyncClient, event_id: str) -> str:
    types = (await client.get(f"{API}/events/{event_id}/ticket-types")).json()["data"]
    return str(types[0]["id"])


async def paid_order(
    client: httpx.AsyncClient, buyer: Account, event_id: str, ticket_type_id: str, n: int = 1
) -> dict[str, Any]:
    held = await buy(client, buyer, event_id, ticket_type_id, n)
    assert held.status_code == 201, held.text
    paid = await pay(client, buyer, held.json()["id"])
    assert paid.status_code == 200, paid.text
    order: dict[str, Any] = paid.json()
    assert order["status"] == "confirmed"
    return order


async def sale(
    client: httpx.AsyncClient, n: int = 1, buyer_name: str = "Ada Lovelace", **event: Any
) -> Sale:
    crew = await tenant(client)
    created = await published_event(client, crew.org_id, crew.admin, **event)
    ticket_type_id = await ticket_type_of(client, created["id"])
    buyer = await register(client, name=buyer_name)
    order = await paid_order(client, buyer, created["id"], ticket_type_id, n)
    return Sale(crew, created, ticket_type_id, buyer, order)


async def walk(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], limit: int
) -> list[Any]:
    """Every item of a cursor-paginated list, asserting the page size on the way."""
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["data"]) <= limit
        items.extend(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor walk does not end")


class TestMyTickets:
    async def test_newest_first_with_event_and_paginated(self, client: httpx.AsyncClient) -> None:
        first = await sale(client, n=1, title="First Night")
        second = await paid_order(client, first.buyer, first.event["id"], first.ticket_type_id, n=2)
        response = await client.get(f"{API}/me/tickets", headers=first.buyer.headers)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "private, no-store"
        data = response.json()["data"]
        assert response.json()["next_cursor"] is None
        # The newer order's two tickets first (same instant: by id), then the first order's.
        assert sorted(t["id"] for t in data[:2]) == sorted(t["id"] for t in second["tickets"])
        assert data[2]["id"] == first.tickets[0]["id"]
        ticket = data[2]
        assert ticket["code"] == first.tickets[0]["code"]
        assert ticket["event_id"] == first.event["id"]
        assert ticket["event_title"] == "First Night"
        assert ticket["event_starts_at"] == first.event["starts_at"]
        assert ticket["ticket_type_name"] == "General admission"
        assert ticket["attendee_name"] == "Ada Lovelace"
        assert ticket["status"] == "valid" and ticket["checked_in_at"] is None

        walked = await walk(client, f"{API}/me/tickets", first.buyer.headers, limit=1)
        assert [t["id"] for t in walked] == [t["id"] for t in data]

    async def test_only_the_callers_tickets(self, client: httpx.AsyncClient) -> None:
        sold = await sale(client)
        stranger = await register(client)
        response = await client.get(f"{API}/me/tickets", headers=stranger.headers)
        assert response.json() == {"data": [], "next_cursor": None}
        # Organizers do not see their customers' tickets here either.
        staff = await client.get(f"{API}/me/tickets", headers=sold.crew.admin.headers)
        assert staff.json()["data"] == []

    async def test_status_filter_and_void_tickets(self, client: httpx.AsyncClient) -> None:
        sold = await sale(client, n=2)
        cancelled = await client.post(
            f"{API}/orders/{sold.order['id']}/cancel", headers=sold.buyer.headers
        )
        assert cancelled.status_code == 200, cancelled.text
        everything = (await client.get(f"{API}/me/tickets", headers=sold.buyer.headers)).json()
        assert {t["status"] for t in everything["data"]} == {"void"}
        valid = await client.get(
            f"{API}/me/tickets", params={"status": "valid"}, headers=sold.buyer.headers
        )
        assert valid.json()["data"] == []

    async def test_anonymous_is_401(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get(f"{API}/me/tickets"), 401)
        assert_problem(await client.get(f"{API}/me/orders"), 401)

    async def test_bad_query_is_422_naming_the_field(self, client: httpx.AsyncClient) -> None:
        account = await register(client)
        for path in ("/me/tickets", "/me/orders"):
            assert_problem(
                await client.get(f"{API}{path}", params={"cursor": "xyz"}, headers=account.headers),
                422,
                "cursor",
            )
            assert_problem(
                await client.get(f"{API}{path}", params={"limit": 0}, headers=account.headers),
                422,
                "limit",
            )
            assert_problem(
                await client.get(
                    f"{API}{path}", params={"status": "bogus"}, headers=account.headers
                ),
                422,
                "status",
            )
        # A cursor of another listing's shape names the cursor too.
        foreign = "eyJrIjpbMSwyLDNdfQ"  # {"k":[1,2,3]}
        assert_problem(
            await client.get(
                f"{API}/me/tickets", params={"cursor": foreign}, headers=account.headers
            ),
            422,
            "cursor",
        )


class TestMyOrders:
    async def test_all_statuses_newest_first_paginated(self, client: httpx.AsyncClient) -> None:
        sold = await sale(client)
        event_id, tt = sold.event["id"], sold.ticket_type_id
        pending = (await buy(client, sold.buyer, event_id, tt)).json()
        cancelled = (await buy(client, sold.buyer, event_id, tt)).json()
        response = await client.post(
            f"{API}/orders/{cancelled['id']}/cancel", headers=sold.buyer.headers
        )
        assert response.status_code == 200, response.text

        walked = await walk(client, f"{API}/me/orders", sold.buyer.headers, limit=2)
        assert [o["id"] for o in walked] == [cancelled["id"], pending["id"], sold.order["id"]]
        assert [o["status"] for o in walked] == ["cancelled", "pending", "confirmed"]
        confirmed = walked[2]
        assert confirmed["tickets"] == sold.order["tickets"]
        assert confirmed["items"] == sold.order["items"]
        assert confirmed["total_amount"] == 2500 and confirmed["currency"] == "EUR"

        only_pending = await client.get(
            f"{API}/me/orders", params={"status": "pending"}, headers=sold.buyer.headers
        )
        assert [o["id"] for o in only_pending.json()["data"]] == [pending["id"]]

        stranger = await register(client)
        mine = await client.get(f"{API}/me/orders", headers=stranger.headers)
        assert mine.json() == {"data": [], "next_cursor": None}

    async def test_an_order_with_a_promo_code(self, client: httpx.AsyncClient) -> None:
        crew = await tenant(client)
        created = await published_event(client, crew.org_id, crew.admin)
        promo = await client.post(
            f"{API}/events/{created['id']}/promo-codes",
            json={"code": "HALF", "percent_off": 50},
            headers=crew.admin.headers,
        )
        assert promo.status_code == 201, promo.text
        buyer = await register(client)
        held = await buy(
            client,
            buyer,
            created["id"],
            await ticket_type_of(client, created["id"]),
            2,
            promo_code="half",
        )
        assert held.status_code == 201, held.text
        response = await client.get(f"{API}/me/orders", headers=buyer.headers)
        assert response.status_code == 200, response.text
        [order] = response.json()["data"]
        assert order["promo_code"] == "HALF"
        assert order["discount_amount"] == 2500 and order["total_amount"] == 2500


class TestOneTicket:
    async def test_who_may_see_it(self, client: httpx.AsyncClient) -> None:
        sold = await sale(client)
        ticket = sold.tickets[0]
        path = f"{API}/tickets/{ticket['id']}"
        for account in (sold.buyer, sold.crew.staff, sold.crew.admin, sold.crew.owner):
            response = await client.get(path, headers=account.headers)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["id"] == ticket["id"] and body["code"] == ticket["code"]
            assert body["event_title"] == sold.event["title"]
            assert response.headers["cache-control"] == "private, no-store"
        another_buyer = await register(client)
        for suffix in ("", "/qr.svg", ".pdf"):
            for account in (sold.crew.outsider, another_buyer):
                assert_problem(await client.get(path + suffix, headers=account.headers), 404)
            assert_problem(await client.get(path + suffix), 401)

    async def test_malformed_and_unknown_ids_are_404(self, client: httpx.AsyncClient) -> None:
        account = await register(client)
        for bad in ("not-a-uuid", "00000000-0000-4000-8000-000000000000", "x.y", "1%20OR%201"):
            for suffix in ("", "/qr.svg", ".pdf"):
                response = await client.get(f"{API}/tickets/{bad}{suffix}", headers=account.headers)
                assert_problem(response, 404)

    async def test_qr_code_carries_the_ticket_code(self, client: httpx.AsyncClient) -> None:
        sold = await sale(client)
        ticket = sold.tickets[0]
        for account in (sold.buyer, sold.crew.staff):
            response = await client.get(
                f"{API}/tickets/{ticket['id']}/qr.svg", headers=account.headers
            )
            assert response.status_code == 200, response.text
            assert response.headers["content-type"].startswith("image/svg+xml")
            assert response.headers["cache-control"] == "private, no-store"
            matrix, border = svg_matrix(response.content)
            assert border >= 4
            _, level, text = decode_qr(matrix)
            assert (level, text) == ("M", ticket["code"])

    async def test_pdf_is_one_printable_page(self, client: httpx.AsyncClient) -> None:
        sold = await sale(client)
        ticket = sold.tickets[0]
        response = await client.get(f"{API}/tickets/{ticket['id']}.pdf", headers=sold.buyer.headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"] == (
            f'inline; filename="ticket-{ticket["id"]}.pdf"'
        )
        assert response.headers["cache-control"] == "private, no-store"
        assert response.content.startswith(b"%PDF-")
        assert page_count(response.content) == 1
        staff = await client.get(
            f"{API}/tickets/{ticket['id']}.pdf", headers=sold.crew.staff.headers
        )
        assert staff.status_code == 200
        assert staff.headers["content-type"] == "application/pdf"

    async def test_online_event_free_ticket_pdf(self, client: httpx.AsyncClient) -> None:
        crew = await tenant(client)
        created = await published_event(
            client,
            crew.org_id,
            crew.admin,
            ticket={"price_amount": 0},
            venue=None,
            online_url="https://example.com/live",
        )
        buyer = await register(client, name="=cmd|' /C calc'!A0")
        tt = await ticket_type_of(client, created["id"])
        order = (await buy(client, buyer, created["id"], tt)).json()
        assert order["status"] == "confirmed"
        response = await client.get(
            f"{API}/tickets/{order['tickets'][0]['id']}.pdf", headers=buyer.headers
        )
        assert response.status_code == 200, response.text
        assert page_count(response.content) == 1

    async def test_void_ticket_is_visible_but_not_printable(
        self, client: httpx.AsyncClient
    ) -> None:
        sold = await sale(client)
        ticket = sold.tickets[0]
        response = await client.post(
            f"{API}/orders/{sold.order['id']}/cancel", headers=sold.buyer.headers
        )
        assert response.status_code == 200, response.text
        shown = await client.get(f"{API}/tickets/{ticket['id']}", headers=sold.buyer.headers)
        assert shown.status_code == 200 and shown.json()["status"] == "void"
        for suffix in ("/qr.svg", ".pdf"):
            for account in (sold.buyer, sold.crew.admin):
                problem = assert_problem(
                    await client.get(
                        f"{API}/tickets/{ticket['id']}{suffix}", headers=account.headers
                    ),
                    404,
                )
                assert problem["type"].endswith("/ticket-not-found")


class TestOpenAPI:
    async def test_routes_are_described(self, client: httpx.AsyncClient) -> None:
        spec = (await client.get(f"{API}/openapi.json")).json()
        paths = spec["paths"]
        pdf = paths[f"{API}/tickets/{{ticket_id}}.pdf"]["get"]["responses"]["200"]
        assert "application/pdf" in pdf["content"]
        svg = paths[f"{API}/tickets/{{ticket_id}}/qr.svg"]["get"]["responses"]["200"]
        assert "image/svg+xml" in svg["content"]
        for path in (
            "/me/tickets",
            "/me/orders",
            "/tickets/{ticket_id}",
            "/events/{event_id}/check-in-list",
            "/events/{event_id}/attendees",
            "/events/{event_id}/sales",
        ):
            ok = paths[API + path]["get"]["responses"]["200"]
            assert "$ref" in ok["content"]["application/json"]["schema"], path
        for path in ("/events/{event_id}/check-ins", "/events/{event_id}/check-ins/batch"):
            responses = paths[API + path]["post"]["responses"]
            ok = responses.get("201") or responses["200"]
            assert "$ref" in ok["content"]["application/json"]["schema"], path
            assert "application/problem+json" in responses["422"]["content"]
        csv = paths[f"{API}/events/{{event_id}}/attendees.csv"]["get"]["responses"]["200"]
        assert "text/csv" in csv["content"]
