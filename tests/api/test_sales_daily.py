"""Daily sales figures: the aggregate's refresh (analytics/aggregates.py), its periodic job and
``GET /events/{event_id}/sales/daily``. Who may read the route is in the authorization matrix.

Orders are placed, paid, cancelled and checked in over HTTP, at the real time; a test that needs
them at a given local time then moves the stored time (``confirmed_at``, ``cancelled_at``,
``checked_in_at``) there, as a clock would have, and stamps ``updated_at`` now as any change
does.

The module has a database of its own: a full rebuild here recomputes only this module's events,
so it can assert exactly how many cells a refresh writes.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from boxoffice.analytics import aggregates
from boxoffice.analytics.jobs import refresh_aggregates
from boxoffice.analytics.models import EventSalesDaily
from boxoffice.app import create_app
from boxoffice.config import Settings
from boxoffice.core.timestamps import format_timestamp, utcnow
from boxoffice.db.engine import Database
from boxoffice.jobs import registry
from boxoffice.jobs.context import JobContext
from boxoffice.jobs.registry import Queue
from boxoffice.jobs.scheduler import schedule
from boxoffice.ticketing.models import Order, Ticket
from tests.api.test_orders import buy
from tests.api.test_tickets import paid_order
from tests.conftest import Backend, make_settings
from tests.helpers import (
    API,
    Account,
    Tenant,
    add_ticket_type,
    assert_problem,
    create_event,
    patch_event,
    publish,
    register,
    tenant,
)

JOB = "analytics.refresh_aggregates"


@pytest.fixture(scope="module")
async def settings(isolated_backend: Backend, var_dir: Path) -> Settings:
    return make_settings(isolated_backend, var_dir)


@pytest.fixture(scope="module")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@dataclass
class People:
    crew: Tenant
    buyer: Account


@pytest.fixture(scope="module")
async def people(app: FastAPI) -> People:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return People(await tenant(client), await register(client, name="Grace Hopper"))


# --- plumbing -----------------------------------------------------------------------------------


def database(app: FastAPI) -> Database:
    resources = app.state.resources
    db: Database = resources.database
    return db


async def refresh(app: FastAPI, *, since: datetime | None, now: datetime | None = None) -> int:
    async with database(app).write_sessions() as session, session.begin():
        return await aggregates.refresh(session, since=since, now=now or utcnow())


Cells = dict[tuple[str, str], dict[str, Any]]  # (day, ticket type id) → figures


async def cells(app: FastAPI, event_id: str, *, stamped: bool = False) -> Cells:
    """The event's stored cells; with ``stamped``, each with its ``refreshed_at``."""
    async with database(app).primary_read_sessions() as session:
        rows = await session.scalars(
            select(EventSalesDaily).where(EventSalesDaily.event_id == uuid.UUID(event_id))
        )
        found: Cells = {}
        for row in rows:
            figures: dict[str, Any] = {
                "sold": row.sold,
                "cancelled": row.cancelled,
                "revenue": row.revenue,
                "refunds": row.refunds,
                "checked_in": row.checked_in,
            }
            if stamped:
                figures["refreshed_at"] = row.refreshed_at
            found[(row.day.isoformat(), str(row.ticket_type_id))] = figures
        return found


async def whole_table(app: FastAPI) -> set[tuple[Any, ...]]:
    async with database(app).primary_read_sessions() as session:
        rows = await session.execute(
            select(
                EventSalesDaily.event_id,
                EventSalesDaily.day,
                EventSalesDaily.ticket_type_id,
                EventSalesDaily.sold,
                EventSalesDaily.cancelled,
                EventSalesDaily.revenue,
                EventSalesDaily.refunds,
                EventSalesDaily.checked_in,
            )
        )
        return {tuple(row) for row in rows}


def figures(
    sold: int = 0, cancelled: int = 0, revenue: int = 0, refunds: int = 0, checked_in: int = 0
) -> dict[str, int]:
    return {
        "sold": sold,
        "cancelled": cancelled,
        "revenue": revenue,
        "refunds": refunds,
        "checked_in": checked_in,
    }


async def move_order(app: FastAPI, order_id: str, **times: datetime) -> None:
    """Put the order's confirmation/cancellation at these instants (a change made now)."""
    async with database(app).write_sessions() as session, session.begin():
        await session.execute(
            update(Order)
            .where(Order.id == uuid.UUID(order_id))
            .values(**times, updated_at=utcnow())
        )


async def move_check_in(app: FastAPI, ticket_id: str, moment: datetime) -> None:
    async with database(app).write_sessions() as session, session.begin():
        await session.execute(
            update(Ticket).where(Ticket.id == uuid.UUID(ticket_id)).values(checked_in_at=moment)
        )


def local(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in ``zone``."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))


async def event_with_types(
    client: httpx.AsyncClient, people: People, *types: dict[str, Any], **event: Any
) -> tuple[str, list[str]]:
    """A published event with these ticket types (one EUR 25.00 type by default)."""
    crew = people.crew
    created = await create_event(client, crew.org_id, crew.admin, **event)
    ids = [
        (await add_ticket_type(client, created["id"], crew.admin, **spec))["id"]
        for spec in (types or ({},))
    ]
    await publish(client, created["id"], crew.admin)
    return created["id"], ids


async def cancel_order(client: httpx.AsyncClient, buyer: Account, order_id: str) -> None:
    response = await client.post(f"{API}/orders/{order_id}/cancel", headers=buyer.headers)
    assert response.status_code == 200, response.text


async def check_in(client: httpx.AsyncClient, people: People, event_id: str, code: str) -> None:
    response = await client.post(
        f"{API}/events/{event_id}/check-ins", json={"code": code}, headers=people.crew.staff.headers
    )
    assert response.status_code == 201, response.text


# --- local days ---------------------------------------------------------------------------------


class TestLocalDays:
    @pytest.mark.parametrize(
        ("zone", "next_day"),
        [
            ("Asia/Kolkata", date(2026, 11, 27)),  # +05:30: midnight is 18:30 UTC
            ("Asia/Kathmandu", date(2026, 11, 27)),  # +05:45: midnight is 18:15 UTC
            ("America/New_York", date(2026, 3, 9)),  # the day after clocks went forward
            ("Europe/Berlin", date(2026, 10, 26)),  # the day after clocks went back
        ],
    )
    async def test_sales_ten_minutes_either_side_of_midnight(
        self, client: httpx.AsyncClient, app: FastAPI, people: People, zone: str, next_day: date
    ) -> None:
        event_id, (seats,) = await event_with_types(client, people, timezone=zone)
        before = await paid_order(client, people.buyer, event_id, seats, 2)
        after = await paid_order(client, people.buyer, event_id, seats, 1)
        midnight = local(zone, next_day.year, next_day.month, next_day.day)
        await move_order(app, before["id"], confirmed_at=midnight - timedelta(minutes=10))
        await move_order(app, after["id"], confirmed_at=midnight + timedelta(minutes=10))

        await refresh(app, since=None)

        day_before = (next_day - timedelta(days=1)).isoformat()
        assert await cells(app, event_id) == {
            (day_before, seats): figures(sold=2, revenue=5000),
            (next_day.isoformat(), seats): figures(sold=1, revenue=2500),
        }

    async def test_changing_the_event_time_zone_moves_its_days(
        self, client: httpx.AsyncClient, app: FastAPI, people: People
    ) -> None:
        event_id, (seats,) = await event_with_types(client, people, timezone="UTC")
        order = await paid_order(client, people.buyer, event_id, seats)
        await move_order(app, order["id"], confirmed_at=local("UTC", 2026, 11, 20, 23, 30))
        await refresh(app, since=None)
        assert set(await cells(app, event_id)) == {("2026-11-20", seats)}

        since = utcnow()
        await patch_event(client, event_id, people.crew.admin, timezone="Europe/Berlin")
        await refresh(app, since=since)

        # 23:30 UTC is 00:30 in Berlin; the old day's cell is gone.
        assert await cells(app, event_id) == {("2026-11-21", seats): figures(sold=1, revenue=2500)}


# --- cancellations ------------------------------------------------------------------------------


class TestCancellation:
    async def test_counts_move_to_cancelled_and_refunds_on_the_day_of_the_cancellation(
        self, client: httpx.AsyncClient, app: FastAPI, people: People
    ) -> None:
        zone = "Europe/Berlin"
        event_id, (stalls, balcony) = await event_with_types(
            client,
            people,
            {"name": "Stalls", "price_amount": 2500},
            {"name": "Balcony", "price_amount": 1000},
            timezone=zone,
        )
        promo = await client.post(
            f"{API}/events/{event_id}/promo-codes",
            json={"code": "TENOFF", "percent_off": 10},
            headers=people.crew.admin.headers,
        )
        assert promo.status_code == 201, promo.text
        kept = await paid_order(client, people.buyer, event_id, stalls, 2)
        mixed = await client.post(
            f"{API}/events/{event_id}/orders",
            json={
                "items": [
                    {"ticket_type_id": stalls, "quantity": 1},
                    {"ticket_type_id": balcony, "quantity": 2},
                ],
                "promo_code": "TENOFF",
            },
            headers=people.buyer.headers,
        )
        assert mixed.status_code == 201, mixed.text
        paid = await client.post(
            f"{API}/orders/{mixed.json()['id']}/pay",
            json={"payment_method": {"type": "test_card", "number": "4242424242424242"}},
            headers=people.buyer.headers,
        )
        assert paid.status_code == 200, paid.text
        returned = paid.json()
        assert returned["discount_amount"] == 250 + 200
        await cancel_order(client, people.buyer, returned["id"])
        # Never confirmed, so never sold: cancelling it is no refund either.
        unpaid = await buy(client, people.buyer, event_id, balcony, 1)
        assert unpaid.status_code == 201, unpaid.text
        await cancel_order(client, people.buyer, unpaid.json()["id"])
        still_pending = await buy(client, people.buyer, event_id, balcony, 1)
        assert still_pending.status_code == 201, still_pending.text

        await move_order(app, kept["id"], confirmed_at=local(zone, 2026, 11, 20, 12))
        await move_order(
            app,
            returned["id"],
            confirmed_at=local(zone, 2026, 11, 20, 13),
            cancelled_at=local(zone, 2026, 11, 22, 9),
        )
        await refresh(app, since=None)

        found = await cells(app, event_id)
        assert found == {
            ("2026-11-20", stalls): figures(sold=3, revenue=5000 + 2500 - 250),
            ("2026-11-20", balcony): figures(sold=2, revenue=2000 - 200),
            ("2026-11-22", stalls): figures(cancelled=1, refunds=2500 - 250),
            ("2026-11-22", balcony): figures(cancelled=2, refunds=2000 - 200),
        }
        # Summed over the days, the flows are what the sales report says is sold and earned.
        report = await client.get(
            f"{API}/events/{event_id}/sales", headers=people.crew.admin.headers
        )
        assert report.status_code == 200, report.text
        for row in report.json()["ticket_types"]:
            mine = [f for (_, type_id), f in found.items() if type_id == row["ticket_type_id"]]
            assert sum(f["sold"] - f["cancelled"] for f in mine) == row["sold"]
            assert sum(f["revenue"] - f["refunds"] for f in mine) == row["revenue_amount"]


# --- check-ins ----------------------------------------------------------------------------------


class TestCheckIns:
    async def test_counted_per_local_day_and_only_while_the_ticket_is_valid(
        self, client: httpx.AsyncClient, app: FastAPI, people: People
    ) -> None:
        zone = "America/Los_Angeles"
        event_id, (seats,) = await event_with_types(client, people, timezone=zone)
        order = await paid_order(client, people.buyer, event_id, seats, 3)
        first, second, _unused = order["tickets"]
        refunded = await paid_order(client, people.buyer, event_id, seats, 1)
        await move_order(app, order["id"], confirmed_at=local(zone, 2025, 11, 1, 10))
        await move_order(app, refunded["id"], confirmed_at=local(zone, 2025, 11, 1, 10))

        await check_in(client, people, event_id, first["code"])
        await move_check_in(app, first["id"], local(zone, 2025, 12, 1, 23, 50))
        # An offline scanner's upload keeps the time of the scan: 00:05 the next local day.
        upload = await client.post(
            f"{API}/events/{event_id}/check-ins/batch",
            json={
                "scans": [
                    {
                        "code": second["code"],
                        "scanned_at": local(zone, 2025, 12, 2, 0, 5).isoformat(),
                    }
                ]
            },
            headers=people.crew.staff.headers,
        )
        assert upload.status_code == 200, upload.text
        assert len(upload.json()["accepted"]) == 1
        # Checked in, then the order was cancelled: the ticket is void and no longer counts.
        await check_in(client, people, event_id, refunded["tickets"][0]["code"])
        await cancel_order(client, people.buyer, refunded["id"])

        await refresh(app, since=None)

        found = await cells(app, event_id)
        admitted = {key: f["checked_in"] for key, f in found.items() if f["checked_in"]}
        assert admitted == {("2025-12-01", seats): 1, ("2025-12-02", seats): 1}
        report = await client.get(
            f"{API}/events/{event_id}/sales", headers=people.crew.admin.headers
        )
        assert report.json()["totals"]["checked_in"] == sum(admitted.values())


# --- incremental refresh ------------------------------------------------------------------------


class TestIncrementalRefresh:
    async def test_recomputes_only_changed_events_and_equals_a_full_rebuild(
        self, client: httpx.AsyncClient, app: FastAPI, people: People
    ) -> None:
        untouched, (a_seats,) = await event_with_types(client, people)
        touched, (b_seats,) = await event_with_types(client, people)
        await paid_order(client, people.buyer, untouched, a_seats, 2)
        kept = await paid_order(client, people.buyer, touched, b_seats, 2)
        dropped = await paid_order(client, people.buyer, touched, b_seats, 1)

        full_at = utcnow()
        await refresh(app, since=None, now=full_at)
        before = await cells(app, untouched, stamped=True)
        assert before and all(f["refreshed_at"] == full_at for f in before.values())
        # Spoil the untouched event's stored cell: only a refresh that recomputes it repairs it.
        ((day, _),) = before
        async with database(app).write_sessions() as session, session.begin():
            await session.execute(
                update(EventSalesDaily)
                .where(EventSalesDaily.event_id == uuid.UUID(untouched))
                .values(sold=999)
            )

        await cancel_order(client, people.buyer, dropped["id"])
        await check_in(client, people, touched, kept["tickets"][0]["code"])
        incremental_at = utcnow()
        written = await refresh(app, since=full_at, now=incremental_at)

        after = await cells(app, untouched, stamped=True)
        assert after[(day, a_seats)]["sold"] == 999  # not recomputed
        assert after[(day, a_seats)]["refreshed_at"] == full_at  # not written
        changed = await cells(app, touched, stamped=True)
        today = {key: f for key, f in changed.items() if f["refreshed_at"] == incremental_at}
        assert written == len(today) >= 1
        totals = {
            name: sum(f[name] for f in changed.values())
            for name in ("sold", "cancelled", "revenue", "refunds", "checked_in")
        }
        assert totals == figures(sold=3, cancelled=1, revenue=7500, refunds=2500, checked_in=1)

        incremental = await whole_table(app)
        rebuilt_at = utcnow()
        # A full rebuild recomputes everything: the incremental refresh left the table as the
        # rebuild makes it, but for the spoiled cell, which the rebuild repairs.
        assert await refresh(app, since=None, now=rebuilt_at) == 1
        rebuilt = await whole_table(app)
        spoiled = (uuid.UUID(untouched), date.fromisoformat(day), uuid.UUID(a_seats))
        assert {row[:3] for row in incremental ^ rebuilt} == {spoiled}
        repaired = await cells(app, untouched, stamped=True)
        assert repaired[(day, a_seats)]["sold"] == before[(day, a_seats)]["sold"]
        assert repaired[(day, a_seats)]["refreshed_at"] == rebuilt_at
        # Idempotent: once more changes nothing.
        assert await refresh(app, since=None) == 0
        assert await refresh(app, since=rebuilt_at) == 0

    async def test_a_late_offline_upload_counts_for_an_event_at_the_door(
        self, client: httpx.AsyncClient, app: FastAPI, people: People
    ) -> None:
        starts = datetime.now(UTC) + timedelta(hours=2)
        event_id, (seats,) = await event_with_types(client, people, starts=starts)
        order = await paid_order(client, people.buyer, event_id, seats)
        since = utcnow()
        await refresh(app, since=None, now=since)
        # Scanned before ``since``, uploaded after it: no stored time says "changed since".
        scanned_at = since - timedelta(minutes=30)
        upload = await client.post(
            f"{API}/events/{event_id}/check-ins/batch",
            json={
                "scans": [
                    {"code": order["tickets"][0]["code"], "scanned_at": scanned_at.isoformat()}
                ]
            },
            headers=people.crew.staff.headers,
        )
        assert upload.status_code == 200, upload.text

        await refresh(app, since=since)

        found = await cells(app, event_id)
        assert sum(f["checked_in"] for f in found.values()) == 1


# --- the job ------------------------------------------------------------------------------------


class TestJob:
    def test_is_registered_on_the_low_queue_and_scheduled_every_five_minutes(
        self, settings: Settings
    ) -> None:
        spec = registry.get(JOB)
        assert spec.fn is refresh_aggregates
        assert (spec.queue, spec.max_retries) == (Queue.LOW, 2)
        periods = {periodic.job: periodic.every for periodic in schedule(settings)}
        assert periods[JOB] == timedelta(minutes=5)

    async def test_refreshes_incrementally_from_the_last_run(
        self, client: httpx.AsyncClient, app: FastAPI, people: People, settings: Settings
    ) -> None:
        resources = app.state.resources
        context = JobContext(settings, resources.database, resources.cache)
        await refresh_aggregates(context)
        async with database(app).primary_read_sessions() as session:
            first_run = await aggregates.last_refreshed(session)
        assert first_run is not None

        event_id, (seats,) = await event_with_types(client, people)
        await paid_order(client, people.buyer, event_id, seats, 2)
        # By name with the scheduler's empty payload, as a worker runs it. (Not through the
        # outbox here: the app's relay may hand the row to its broker first.)
        await registry.run(context, JOB, {})

        async with database(app).primary_read_sessions() as session:
            second_run = await aggregates.last_refreshed(session)
        assert second_run is not None and second_run > first_run
        assert sum(f["sold"] for f in (await cells(app, event_id)).values()) == 2
        # ``full`` recomputes every event, to the same figures.
        await refresh_aggregates(context, full=True)
        assert sum(f["sold"] for f in (await cells(app, event_id)).values()) == 2


# --- the route ----------------------------------------------------------------------------------


async def days_of(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], params: dict[str, str]
) -> list[str]:
    response = await client.get(url, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [row["day"] for row in response.json()["data"]]


class TestSalesDailyRoute:
    async def test_days_in_range_with_currency_time_zone_and_refresh_time(
        self, client: httpx.AsyncClient, app: FastAPI, people: People
    ) -> None:
        zone = "Asia/Tokyo"
        event_id, (seats,) = await event_with_types(client, people, timezone=zone)
        days = [date(2026, 11, 10), date(2026, 11, 11), date(2026, 11, 13)]
        for n, day in enumerate(days, start=1):
            order = await paid_order(client, people.buyer, event_id, seats, n)
            await move_order(
                app, order["id"], confirmed_at=local(zone, day.year, day.month, day.day, 0, 1)
            )
        refreshed_at = utcnow()
        await refresh(app, since=None, now=refreshed_at)
        url = f"{API}/events/{event_id}/sales/daily"
        headers = people.crew.admin.headers

        whole = await client.get(url, headers=headers)
        assert whole.status_code == 200, whole.text
        assert whole.headers["cache-control"] == "private, no-cache"
        body = whole.json()
        assert body == {
            "event_id": event_id,
            "timezone": zone,
            "currency": "EUR",
            "refreshed_at": format_timestamp(refreshed_at),
            "data": [
                {
                    "day": day.isoformat(),
                    "ticket_type_id": seats,
                    **figures(sold=n, revenue=2500 * n),
                }
                for n, day in enumerate(days, start=1)
            ],
        }
        assert await days_of(client, url, headers, {"from": "2026-11-11", "to": "2026-11-12"}) == [
            "2026-11-11"
        ]
        assert await days_of(client, url, headers, {"from": "2026-11-11"}) == [
            "2026-11-11",
            "2026-11-13",
        ]
        assert await days_of(client, url, headers, {"to": "2026-11-10"}) == ["2026-11-10"]
        unchanged = await client.get(
            url, headers={**headers, "If-None-Match": whole.headers["etag"]}
        )
        assert unchanged.status_code == 304

    async def test_an_event_without_sales(
        self, client: httpx.AsyncClient, app: FastAPI, people: People
    ) -> None:
        created = await create_event(client, people.crew.org_id, people.crew.admin)
        response = await client.get(
            f"{API}/events/{created['id']}/sales/daily", headers=people.crew.owner.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"] == []
        assert response.json()["currency"] is None

    async def test_bad_days_are_422_naming_the_parameter(
        self, client: httpx.AsyncClient, people: People
    ) -> None:
        created = await create_event(client, people.crew.org_id, people.crew.admin)
        url = f"{API}/events/{created['id']}/sales/daily"
        headers = people.crew.admin.headers
        assert_problem(
            await client.get(
                url, params={"from": "2026-11-12", "to": "2026-11-11"}, headers=headers
            ),
            422,
            field="to",
        )
        assert_problem(
            await client.get(url, params={"from": "2026-13-01"}, headers=headers), 422, field="from"
        )
