"""What e-mails are made of, read from a database filled through the HTTP API (both backends)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.config import Settings
from boxoffice.notifications import facts
from boxoffice.ticketing.models import WaitlistEntry
from tests.helpers import API, Account, Tenant, cancel, published_event, register, tenant

GOOD_CARD = "4242424242424242"


@asynccontextmanager
async def _session(app: Any) -> AsyncIterator[AsyncSession]:
    async with app.state.resources.database.primary_read_sessions() as session:
        yield session


@asynccontextmanager
async def _statements(session: AsyncSession) -> AsyncIterator[list[str]]:
    """The SQL statements ``session`` runs while inside (its transaction already begun)."""
    seen: list[str] = []
    connection = (await session.connection()).sync_connection
    assert connection is not None

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(connection, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", record)


async def _event(client: httpx.AsyncClient, **ticket: Any) -> tuple[Tenant, str, str]:
    crew = await tenant(client)
    created = await published_event(
        client, crew.org_id, crew.admin, ticket={"quantity": 100, **ticket}
    )
    types = (await client.get(f"{API}/events/{created['id']}/ticket-types")).json()["data"]
    return crew, created["id"], types[0]["id"]


async def _hold(client: httpx.AsyncClient, buyer: Account, event_id: str, tt: str, n: int) -> str:
    response = await client.post(
        f"{API}/events/{event_id}/orders",
        json={"items": [{"ticket_type_id": tt, "quantity": n}]},
        headers=buyer.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _bought(
    client: httpx.AsyncClient, buyer: Account, event_id: str, tt: str, n: int = 1
) -> dict[str, Any]:
    order_id = await _hold(client, buyer, event_id, tt, n)
    response = await client.post(
        f"{API}/orders/{order_id}/pay",
        json={"payment_method": {"type": "test_card", "number": GOOD_CARD}},
        headers=buyer.headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _cancel_order(client: httpx.AsyncClient, buyer: Account, order_id: str) -> None:
    response = await client.post(f"{API}/orders/{order_id}/cancel", headers=buyer.headers)
    assert response.status_code == 200, response.text


async def _all_holders(
    app: Any, event_id: str, *, limit: int, include_event_cancelled: bool
) -> tuple[list[facts.Holder], int]:
    """Every holder, page by page; and how many statements each page took at most."""
    holders: list[facts.Holder] = []
    after: uuid.UUID | None = None
    most = 0
    while True:
        async with _session(app) as session, _statements(session) as statements:
            page = await facts.load_holders(
                session,
                uuid.UUID(event_id),
                after_user_id=after,
                limit=limit,
                include_event_cancelled=include_event_cancelled,
            )
        most = max(most, len(statements))
        assert len(page) <= limit
        holders.extend(page)
        if len(page) < limit:
            return holders, most
        after = page[-1].user_id


class TestLoadHolders:
    async def test_pages_cover_every_buyer_once(self, client: httpx.AsyncClient, app: Any) -> None:
        _, event_id, tt = await _event(client)
        buyers = [await register(client, name=f"Buyer {n}") for n in range(7)]
        for n, buyer in enumerate(buyers):
            await _bought(client, buyer, event_id, tt, 1 + n % 3)
        await _bought(client, buyers[0], event_id, tt, 2)  # a second order
        only_pending = await register(client, name="Pending")
        await _hold(client, only_pending, event_id, tt, 1)
        changed_mind = await register(client, name="Changed mind")
        order = await _bought(client, changed_mind, event_id, tt, 1)
        await _cancel_order(client, changed_mind, order["id"])

        expected = {
            uuid.UUID(buyer.user_id): (1 + (n % 3) + (2 if n == 0 else 0), 2 if n == 0 else 1)
            for n, buyer in enumerate(buyers)
        }
        for limit in (1, 3, 7, 50):
            holders, most = await _all_holders(
                app, event_id, limit=limit, include_event_cancelled=False
            )
            ids = [holder.user_id for holder in holders]
            assert ids == sorted(expected), f"limit {limit}: ascending, no duplicates, no gaps"
            assert most == 1, "one statement per page"
        assert {h.user_id: (h.ticket_count, h.order_count) for h in holders} == expected
        by_id = {holder.user_id: holder for holder in holders}
        assert by_id[uuid.UUID(buyers[3].user_id)].name == "Buyer 3"
        assert by_id[uuid.UUID(buyers[3].user_id)].email == buyers[3].email

    async def test_event_cancelled_holders_are_included_only_when_asked(
        self, client: httpx.AsyncClient, app: Any
    ) -> None:
        crew, event_id, tt = await _event(client)
        paid = [await register(client, name=f"Paid {n}") for n in range(4)]
        for buyer in paid:
            await _bought(client, buyer, event_id, tt, 2)
        only_pending = await register(client, name="Pending")
        await _hold(client, only_pending, event_id, tt, 1)
        changed_mind = await register(client, name="Changed mind")
        order = await _bought(client, changed_mind, event_id, tt, 1)
        await _cancel_order(client, changed_mind, order["id"])

        await cancel(client, event_id, crew.admin)

        without, _ = await _all_holders(app, event_id, limit=2, include_event_cancelled=False)
        assert without == []
        holders, most = await _all_holders(app, event_id, limit=3, include_event_cancelled=True)
        assert [h.user_id for h in holders] == sorted(uuid.UUID(b.user_id) for b in paid)
        assert {h.ticket_count for h in holders} == {2}
        assert most == 1

    async def test_other_events_do_not_leak_in(self, client: httpx.AsyncClient, app: Any) -> None:
        _, event_id, tt = await _event(client)
        _, other_id, other_tt = await _event(client)
        buyer, elsewhere = await register(client), await register(client)
        await _bought(client, buyer, event_id, tt)
        await _bought(client, elsewhere, other_id, other_tt)
        holders, _ = await _all_holders(app, event_id, limit=10, include_event_cancelled=True)
        assert [h.user_id for h in holders] == [uuid.UUID(buyer.user_id)]


class TestLoadOrder:
    async def test_everything_the_confirmation_shows(
        self, client: httpx.AsyncClient, app: Any, settings: Settings
    ) -> None:
        _, event_id, tt = await _event(client, price_amount=2500, name="Front row")
        buyer = await register(client, name="Zoë Ñandú")
        paid = await _bought(client, buyer, event_id, tt, 2)
        async with _session(app) as session:
            order = await facts.load_order(session, uuid.UUID(paid["id"]), settings=settings)
        assert order is not None
        assert (order.buyer_name, order.buyer_email) == ("Zoë Ñandú", buyer.email)
        assert (order.status, order.currency, order.total_amount) == ("confirmed", "EUR", 5000)
        assert order.payment_status == "captured" and order.confirmed_at is not None
        assert order.lines == (facts.LineFacts("Front row", 2, 2500, 0),)
        assert {t.code for t in order.tickets} == {t["code"] for t in paid["tickets"]}
        assert {(t.ticket_type_name, t.price_amount, t.currency) for t in order.tickets} == {
            ("Front row", 2500, "EUR")
        }
        assert {t.attendee_name for t in order.tickets} == {"Zoë Ñandú"}
        assert order.event.id == uuid.UUID(event_id)
        assert order.event.title == "Jazz at the Riverside"
        assert order.event.timezone == "Europe/Berlin"
        assert order.event.venue_line == "Quasimodo, Kantstraße 12a, Berlin"
        assert order.event.organizer == "Org"
        assert order.event.url == f"{settings.public_url}/events/{event_id}"
        assert order.event.starts_at.tzinfo is not None
        assert not order.cancelled_with_event

    async def test_cancelled_with_the_event(
        self, client: httpx.AsyncClient, app: Any, settings: Settings
    ) -> None:
        crew, event_id, tt = await _event(client)
        buyer = await register(client)
        paid = await _bought(client, buyer, event_id, tt)
        await cancel(client, event_id, crew.admin)
        async with _session(app) as session:
            order = await facts.load_order(session, uuid.UUID(paid["id"]), settings=settings)
        assert order is not None
        assert order.status == "cancelled" and order.cancelled_with_event
        assert order.cancel_reason == facts.EVENT_CANCELLED_REASON
        # Captured still: the refund is a job of its own (payments.settle_cancelled_order).
        assert order.payment_status == "captured"
        assert order.event.status == "cancelled"

    async def test_unknown_order(self, app: Any, settings: Settings) -> None:
        async with _session(app) as session:
            assert await facts.load_order(session, uuid.uuid4(), settings=settings) is None
            assert await facts.load_event(session, uuid.uuid4(), settings=settings) is None


class TestLoadEvent:
    async def test_online_event(
        self, client: httpx.AsyncClient, app: Any, settings: Settings
    ) -> None:
        crew = await tenant(client)
        created = await published_event(
            client, crew.org_id, crew.admin, venue=None, online_url="https://meet.example.com/x"
        )
        async with _session(app) as session:
            loaded = await facts.load_event(session, uuid.UUID(created["id"]), settings=settings)
        assert loaded is not None
        assert loaded.venue_line is None
        assert loaded.online_url == "https://meet.example.com/x"
        assert loaded.status == "published" and loaded.version >= 1


class TestLoadOrganizerRecipients:
    async def test_owners_and_admins_only(self, client: httpx.AsyncClient, app: Any) -> None:
        crew = await tenant(client)
        async with _session(app) as session:
            recipients = await facts.load_organizer_recipients(session, uuid.UUID(crew.org_id))
        assert sorted(r.email for r in recipients) == sorted([crew.owner.email, crew.admin.email])
        assert [r.email for r in recipients] == sorted(r.email for r in recipients)
        assert {r.user_id for r in recipients} == {
            uuid.UUID(crew.owner.user_id),
            uuid.UUID(crew.admin.user_id),
        }


class TestLoadWaitlistOffer:
    async def test_an_offer_and_a_place_still_waiting(
        self, client: httpx.AsyncClient, app: Any, settings: Settings
    ) -> None:
        _, event_id, tt = await _event(client, quantity=1)
        holder = await register(client)
        paid = await _bought(client, holder, event_id, tt, 1)
        first, second = await register(client, name="First"), await register(client)
        for fan in (first, second):
            response = await client.post(
                f"{API}/ticket-types/{tt}/waitlist", json={"quantity": 1}, headers=fan.headers
            )
            assert response.status_code == 201, response.text
        await _cancel_order(client, holder, paid["id"])  # the seat goes to the first in line

        async with _session(app) as session:
            entries = {
                entry.user_id: entry.id
                for entry in await session.scalars(
                    select(WaitlistEntry).where(WaitlistEntry.ticket_type_id == uuid.UUID(tt))
                )
            }
            offer = await facts.load_waitlist_offer(
                session, entries[uuid.UUID(first.user_id)], settings=settings
            )
            waiting = await facts.load_waitlist_offer(
                session, entries[uuid.UUID(second.user_id)], settings=settings
            )
            missing = await facts.load_waitlist_offer(session, uuid.uuid4(), settings=settings)
        assert waiting is None and missing is None
        assert offer is not None
        assert (offer.user_name, offer.user_email) == ("First", first.email)
        assert offer.status == "offered" and offer.quantity == 1
        assert offer.ticket_type_name == "General admission"
        assert offer.event.id == uuid.UUID(event_id)
        assert offer.pay_url == f"{settings.public_url}/orders/{offer.order_id}"
        response = await client.get(f"{API}/orders/{offer.order_id}", headers=first.headers)
        assert response.json()["status"] == "pending"
        assert offer.offer_expires_at.tzinfo is not None
