"""Ticket types: creation, the public list, changes and the rules that guard them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.helpers import (
    API,
    Account,
    add_ticket_type,
    assert_problem,
    create_event,
    create_organization,
    publish,
    register,
    ticket_type_payload,
)


@pytest.fixture(scope="module")
async def organizer(app: object) -> AsyncIterator[Account]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield await register(http)


@pytest.fixture
async def event(client: httpx.AsyncClient, organizer: Account) -> dict[str, Any]:
    org_id = await create_organization(client, organizer, name=f"Tickets {uuid.uuid4().hex[:8]}")
    return await create_event(client, org_id, organizer)


def at(days: int) -> str:
    moment = datetime(2030, 1, 1, 12, 0, tzinfo=UTC) + timedelta(days=days)
    return moment.isoformat()


async def post_ticket_type(
    client: httpx.AsyncClient, event_id: str, by: Account, **fields: Any
) -> httpx.Response:
    return await client.post(
        f"{API}/events/{event_id}/ticket-types",
        json=ticket_type_payload(**fields),
        headers=by.headers,
    )


async def patch_ticket_type(
    client: httpx.AsyncClient, ticket_type_id: str, by: Account, **changes: Any
) -> httpx.Response:
    return await client.patch(
        f"{API}/ticket-types/{ticket_type_id}", json=changes, headers=by.headers
    )


class TestCreateTicketType:
    async def test_returns_it_with_all_seats_available(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        response = await post_ticket_type(
            client,
            event["id"],
            organizer,
            name="Early bird",
            price_amount=1900,
            quantity=50,
            sales_start=at(0),
            sales_end=at(10),
            max_per_order=4,
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["id"]
        assert body["event_id"] == event["id"]
        assert body["name"] == "Early bird"
        assert body["price_amount"] == 1900
        assert body["currency"] == "EUR"
        assert body["quantity"] == 50
        assert body["available"] == 50
        assert body["sales_start"] == at(0)
        assert body["sales_end"] == at(10)
        assert body["max_per_order"] == 4

    async def test_sales_window_and_order_limit_are_optional(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        body = await add_ticket_type(client, event["id"], organizer)
        assert body["sales_start"] is None
        assert body["sales_end"] is None
        assert body["max_per_order"] >= 1

    async def test_free_tickets_are_allowed(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        body = await add_ticket_type(client, event["id"], organizer, price_amount=0)
        assert body["price_amount"] == 0

    async def test_currency_must_match_the_other_ticket_types(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        await add_ticket_type(client, event["id"], organizer, currency="EUR")
        response = await post_ticket_type(client, event["id"], organizer, currency="USD")
        assert_problem(response, 422, "currency")
        listed = await client.get(
            f"{API}/events/{event['id']}/ticket-types", headers=organizer.headers
        )
        assert [t["currency"] for t in listed.json()["data"]] == ["EUR"]

    async def test_concurrent_creations_cannot_mix_currencies(
        self, client: httpx.AsyncClient, organizer: Account
    ) -> None:
        org_id = await create_organization(client, organizer, name="Currency race")
        for _ in range(5):  # each round gives a check-then-insert race a chance
            event = await create_event(client, org_id, organizer)
            answers = await asyncio.gather(
                post_ticket_type(client, event["id"], organizer, currency="EUR"),
                post_ticket_type(client, event["id"], organizer, currency="USD"),
            )
            assert sorted(answer.status_code for answer in answers) == [201, 422]
            listed = await client.get(
                f"{API}/events/{event['id']}/ticket-types", headers=organizer.headers
            )
            assert len({t["currency"] for t in listed.json()["data"]}) == 1

    async def test_sales_end_before_sales_start_is_422(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        response = await post_ticket_type(
            client, event["id"], organizer, sales_start=at(5), sales_end=at(1)
        )
        assert_problem(response, 422, "sales_end")

    async def test_zero_quantity_is_422(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        response = await post_ticket_type(client, event["id"], organizer, quantity=0)
        assert_problem(response, 422, "quantity")

    async def test_cancelled_event_takes_no_new_ticket_types(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        cancel = await client.post(f"{API}/events/{event['id']}/cancel", headers=organizer.headers)
        assert cancel.status_code == 200, cancel.text
        assert_problem(await post_ticket_type(client, event["id"], organizer), 409)

    async def test_adding_one_to_a_published_event_updates_its_summary(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        await add_ticket_type(client, event["id"], organizer, quantity=10, price_amount=3000)
        await publish(client, event["id"], organizer)
        await add_ticket_type(client, event["id"], organizer, quantity=5, price_amount=900)
        response = await client.get(f"{API}/events/{event['id']}")
        assert response.json()["available"] == 15
        assert response.json()["min_price_amount"] == 900


class TestListTicketTypes:
    async def test_public_for_a_published_event(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        general = await add_ticket_type(client, event["id"], organizer, quantity=100)
        vip = await add_ticket_type(
            client, event["id"], organizer, name="VIP", price_amount=9900, quantity=10
        )
        await publish(client, event["id"], organizer)
        response = await client.get(f"{API}/events/{event['id']}/ticket-types")
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert [t["id"] for t in data] == [general["id"], vip["id"]]
        assert [t["available"] for t in data] == [100, 10]
        assert data[1]["name"] == "VIP"
        assert data[1]["price_amount"] == 9900

    async def test_hidden_from_the_public_while_draft(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        await add_ticket_type(client, event["id"], organizer)
        assert_problem(await client.get(f"{API}/events/{event['id']}/ticket-types"), 404)
        members_view = await client.get(
            f"{API}/events/{event['id']}/ticket-types", headers=organizer.headers
        )
        assert members_view.status_code == 200
        assert len(members_view.json()["data"]) == 1

    async def test_supports_conditional_requests(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        await add_ticket_type(client, event["id"], organizer)
        await publish(client, event["id"], organizer)
        url = f"{API}/events/{event['id']}/ticket-types"
        first = await client.get(url)
        cached = await client.get(url, headers={"If-None-Match": first.headers["etag"]})
        assert cached.status_code == 304
        assert cached.content == b""


class TestUpdateTicketType:
    async def test_changes_name_and_price(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        ticket_type = await add_ticket_type(client, event["id"], organizer)
        response = await patch_ticket_type(
            client, ticket_type["id"], organizer, name="Standing", price_amount=2200
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["name"] == "Standing"
        assert body["price_amount"] == 2200
        assert body["quantity"] == ticket_type["quantity"]
        assert body["currency"] == ticket_type["currency"]

    async def test_changes_sales_window_and_order_limit(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        ticket_type = await add_ticket_type(client, event["id"], organizer)
        response = await patch_ticket_type(
            client,
            ticket_type["id"],
            organizer,
            sales_start=at(1),
            sales_end=at(3),
            max_per_order=2,
        )
        assert response.status_code == 200, response.text
        assert response.json()["sales_start"] == at(1)
        assert response.json()["sales_end"] == at(3)
        assert response.json()["max_per_order"] == 2

    async def test_reducing_quantity_reduces_availability(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        ticket_type = await add_ticket_type(client, event["id"], organizer, quantity=100)
        response = await patch_ticket_type(client, ticket_type["id"], organizer, quantity=30)
        assert response.status_code == 200, response.text
        assert response.json()["quantity"] == 30
        assert response.json()["available"] == 30
        raised = await patch_ticket_type(client, ticket_type["id"], organizer, quantity=31)
        assert raised.json()["available"] == 31

    async def test_quantity_zero_is_422(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        ticket_type = await add_ticket_type(client, event["id"], organizer, quantity=10)
        response = await patch_ticket_type(client, ticket_type["id"], organizer, quantity=0)
        assert_problem(response, 422, "quantity")

    async def test_null_for_a_required_field_is_422(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        ticket_type = await add_ticket_type(client, event["id"], organizer)
        response = await patch_ticket_type(client, ticket_type["id"], organizer, price_amount=None)
        assert_problem(response, 422, "price_amount")

    async def test_sales_end_before_existing_sales_start_is_422(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        ticket_type = await add_ticket_type(
            client, event["id"], organizer, sales_start=at(5), sales_end=at(9)
        )
        response = await patch_ticket_type(client, ticket_type["id"], organizer, sales_end=at(2))
        assert_problem(response, 422, "sales_end")

    async def test_currency_cannot_diverge_from_the_other_ticket_types(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        await add_ticket_type(client, event["id"], organizer, currency="EUR")
        second = await add_ticket_type(client, event["id"], organizer, name="VIP", currency="EUR")
        response = await patch_ticket_type(client, second["id"], organizer, currency="GBP")
        assert_problem(response, 422, "currency")

    async def test_sole_ticket_type_may_change_currency(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        only = await add_ticket_type(client, event["id"], organizer, currency="EUR")
        response = await patch_ticket_type(client, only["id"], organizer, currency="CHF")
        assert response.status_code == 200, response.text
        assert response.json()["currency"] == "CHF"

    async def test_failed_change_leaves_it_untouched(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        ticket_type = await add_ticket_type(
            client, event["id"], organizer, sales_start=at(5), sales_end=at(9)
        )
        response = await patch_ticket_type(
            client, ticket_type["id"], organizer, quantity=7, sales_end=at(1)
        )
        assert_problem(response, 422, "sales_end")
        listed = await client.get(
            f"{API}/events/{event['id']}/ticket-types", headers=organizer.headers
        )
        (unchanged,) = listed.json()["data"]
        assert unchanged["quantity"] == ticket_type["quantity"]
        assert unchanged["sales_end"] == at(9)

    async def test_cancelled_events_ticket_types_are_frozen(
        self, client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
    ) -> None:
        ticket_type = await add_ticket_type(client, event["id"], organizer)
        await client.post(f"{API}/events/{event['id']}/cancel", headers=organizer.headers)
        response = await patch_ticket_type(client, ticket_type["id"], organizer, name="Still on")
        assert_problem(response, 409)

    async def test_unknown_ticket_type_is_404(
        self, client: httpx.AsyncClient, organizer: Account
    ) -> None:
        response = await patch_ticket_type(client, str(uuid.uuid4()), organizer, name="Ghost")
        assert_problem(response, 404)
