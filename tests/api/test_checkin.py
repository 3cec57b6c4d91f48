"""Check-in at the door: one scan, offline batches, the door list, and double-scan races."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from boxoffice.app import create_app
from tests.api.test_tickets import Sale, paid_order, sale, ticket_type_of
from tests.conftest import Backend, make_settings
from tests.helpers import API, Account, assert_problem, create_event, published_event


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def scan(client: httpx.AsyncClient, event_id: str, code: str, by: Account) -> httpx.Response:
    return await client.post(
        f"{API}/events/{event_id}/check-ins", json={"code": code}, headers=by.headers
    )


async def upload(
    client: httpx.AsyncClient, event_id: str, scans: list[dict[str, Any]], by: Account
) -> httpx.Response:
    return await client.post(
        f"{API}/events/{event_id}/check-ins/batch", json={"scans": scans}, headers=by.headers
    )


def at(moment: datetime) -> str:
    return moment.isoformat()


class TestCheckIn:
    async def test_admits_once_then_409_with_the_first_time(
        self, client: httpx.AsyncClient
    ) -> None:
        sold = await sale(client, buyer_name="Grace Hopper")
        ticket = sold.tickets[0]
        first = await scan(client, sold.event["id"], ticket["code"], sold.crew.staff)
        assert first.status_code == 201, first.text
        body = first.json()
        assert set(body) == {"ticket_id", "attendee_name", "ticket_type_id", "checked_in_at"}
        assert body["ticket_id"] == ticket["id"]
        assert body["attendee_name"] == "Grace Hopper"
        assert body["ticket_type_id"] == sold.ticket_type_id
        checked_in_at = when(body["checked_in_at"])
        assert abs(checked_in_at - datetime.now(UTC)) < timedelta(minutes=1)

        again = await scan(client, sold.event["id"], ticket["code"], sold.crew.admin)
        problem = assert_problem(again, 409)
        assert problem["type"].endswith("/already-checked-in")
        assert when(problem["checked_in_at"]) == checked_in_at
        assert problem["ticket_id"] == ticket["id"]

        shown = await client.get(f"{API}/tickets/{ticket['id']}", headers=sold.buyer.headers)
        assert when(shown.json()["checked_in_at"]) == checked_in_at

    async def test_code_is_trimmed(self, client: httpx.AsyncClient) -> None:
        sold = await sale(client)
        code = sold.tickets[0]["code"]
        response = await scan(client, sold.event["id"], f"  {code}\n", sold.crew.staff)
        assert response.status_code == 201, response.text

    async def test_unknown_void_and_other_events_codes_are_404(
        self, client: httpx.AsyncClient
    ) -> None:
        sold = await sale(client, n=2)
        event_id = sold.event["id"]
        for code in ("no-such-code", "x" * 200, sold.tickets[0]["code"].lower()):
            problem = assert_problem(await scan(client, event_id, code, sold.crew.staff), 404)
            assert problem["type"].endswith("/ticket-not-found")

        # Another event of the same organization: its codes do not open this door.
        other = await published_event(client, sold.crew.org_id, sold.crew.admin, title="Other")
        other_order = await paid_order(
            client, sold.buyer, other["id"], await ticket_type_of(client, other["id"])
        )
        other_code = other_order["tickets"][0]["code"]
        assert_problem(await scan(client, event_id, other_code, sold.crew.staff), 404)
        assert (await scan(client, other["id"], other_code, sold.crew.staff)).status_code == 201

        cancelled = await client.post(
            f"{API}/orders/{sold.order['id']}/cancel", headers=sold.crew.admin.headers
        )
        assert cancelled.status_code == 200, cancelled.text
        for ticket in sold.tickets:
            assert_problem(await scan(client, event_id, ticket["code"], sold.crew.staff), 404)

    async def test_who_may_scan(self, client: httpx.AsyncClient) -> None:
        sold = await sale(client, n=3)
        event_id, codes = sold.event["id"], [t["code"] for t in sold.tickets]
        for account, code in zip(
            (sold.crew.staff, sold.crew.admin, sold.crew.owner), codes, strict=True
        ):
            assert (await scan(client, event_id, code, account)).status_code == 201
        # The event is published, hence visible: a non-member's attempt is a plain 403 (API.md,
        # "Auth"), the ticket holder's included. Nothing about the ticket leaks either way.
        for account in (sold.crew.outsider, sold.buyer):
            problem = assert_problem(await scan(client, event_id, codes[0], account), 403)
            assert "checked_in_at" not in problem
        assert_problem(
            await client.post(f"{API}/events/{event_id}/check-ins", json={"code": codes[0]}), 401
        )

    async def test_draft_event_is_404_to_outsiders(self, client: httpx.AsyncClient) -> None:
        sold = await sale(client)
        draft = await create_event(client, sold.crew.org_id, sold.crew.admin)
        for path in ("/check-ins", "/check-in-list"):
            url = f"{API}/events/{draft['id']}{path}"
            response = (
                await client.post(url, json={"code": "abc"}, headers=sold.crew.outsider.headers)
                if path == "/check-ins"
                else await client.get(url, headers=sold.crew.outsider.headers)
            )
            assert_problem(response, 404)
        assert_problem(await scan(client, draft["id"], "abc", sold.crew.staff), 404)
        bad = "00000000-0000-4000-8000-000000000000"
        assert_problem(await scan(client, bad, "abc", sold.crew.staff), 404)
        assert_problem(await scan(client, "not-an-id", "abc", sold.crew.staff), 404)

    async def test_bad_bodies_are_422_naming_the_field(self, client: httpx.AsyncClient) -> None:
        sold = await sale(client)
        url = f"{API}/events/{sold.event['id']}/check-ins"
        headers = sold.crew.staff.headers
        for body, field in (
            ({}, "code"),
            ({"code": ""}, "code"),
            ({"code": "   "}, "code"),
            ({"code": 12345}, "code"),
            ({"code": "a" * 201}, "code"),
            ({"code": "abc\x00"}, "code"),
            ({"code": "abc", "extra": 1}, "extra"),
        ):
            assert_problem(await client.post(url, json=body, headers=headers), 422, field)
        malformed = await client.post(
            url, content=b"{not json", headers={**headers, "Content-Type": "application/json"}
        )
        assert_problem(malformed, 422, "body")


class TestBatch:
    async def test_earliest_scan_wins_duplicates_and_unknown(
        self, client: httpx.AsyncClient
    ) -> None:
        sold = await sale(client, n=4)
        event_id = sold.event["id"]
        a, b, c, d = sold.tickets
        now = datetime.now(UTC).replace(microsecond=0)
        # B and C are checked in live now; D's order is cancelled below (void).
        live_b = when(
            (await scan(client, event_id, b["code"], sold.crew.staff)).json()["checked_in_at"]
        )
        live_c = when(
            (await scan(client, event_id, c["code"], sold.crew.staff)).json()["checked_in_at"]
        )
        other = await sale(client)  # a valid ticket of another event
        scans = [
            {"code": a["code"], "scanned_at": at(now - timedelta(minutes=10))},
            {"code": a["code"], "scanned_at": at(now - timedelta(minutes=30))},  # A's earliest
            {"code": "nope", "scanned_at": at(now - timedelta(minutes=5))},
            {"code": b["code"], "scanned_at": at(now - timedelta(hours=1))},  # before live B
            {"code": c["code"], "scanned_at": at(now + timedelta(minutes=1))},  # after live C
            {"code": "nope", "scanned_at": at(now - timedelta(minutes=4))},
            {"code": other.tickets[0]["code"], "scanned_at": at(now)},
        ]
        response = await upload(client, event_id, scans, sold.crew.staff)
        assert response.status_code == 200, response.text
        result = response.json()
        accepted = {item["code"]: item for item in result["accepted"]}
        assert list(accepted) == [a["code"], b["code"]]
        assert accepted[a["code"]]["ticket_id"] == a["id"]
        assert when(accepted[a["code"]]["checked_in_at"]) == now - timedelta(minutes=30)
        assert accepted[b["code"]]["ticket_id"] == b["id"]
        assert when(accepted[b["code"]]["checked_in_at"]) == now - timedelta(hours=1)
        duplicates = [(item["code"], when(item["checked_in_at"])) for item in result["duplicates"]]
        assert duplicates == [
            (a["code"], now - timedelta(minutes=30)),  # the later scan of A in this batch
            (c["code"], live_c),  # C was in before this scan: its time stays
        ]
        assert result["unknown"] == ["nope", other.tickets[0]["code"]]
        assert live_b > now - timedelta(hours=1)

        # The stored check-ins follow: B's earlier offline scan replaced the live one.
        for ticket, expected in ((a, now - timedelta(minutes=30)), (b, now - timedelta(hours=1))):
            shown = await client.get(f"{API}/tickets/{ticket['id']}", headers=sold.buyer.headers)
            assert when(shown.json()["checked_in_at"]) == expected
        # A live scan now reports the reconciled first check-in.
        problem = assert_problem(await scan(client, event_id, b["code"], sold.crew.staff), 409)
        assert when(problem["checked_in_at"]) == now - timedelta(hours=1)

        # Uploading the same batch again changes nothing: every known scan is a duplicate.
        replay = (await upload(client, event_id, scans, sold.crew.staff)).json()
        assert replay["accepted"] == []
        assert len(replay["duplicates"]) == 4
        assert replay["unknown"] == ["nope", other.tickets[0]["code"]]

        # A void ticket is unknown at the door, however early its scan.
        cancel = await client.post(
            f"{API}/orders/{sold.order['id']}/cancel", headers=sold.crew.admin.headers
        )
        assert cancel.status_code == 200, cancel.text
        late = await upload(
            client,
            event_id,
            [{"code": d["code"], "scanned_at": at(now - timedelta(days=1))}],
            sold.crew.staff,
        )
        assert late.json() == {"accepted": [], "duplicates": [], "unknown": [d["code"]]}

    async def test_offsets_are_normalized_and_ties_accept_one(
        self, client: httpx.AsyncClient
    ) -> None:
        sold = await sale(client)
        code = sold.tickets[0]["code"]
        moment = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
        berlin = moment.astimezone(timezone(timedelta(hours=2)))
        scans = [
            {"code": code, "scanned_at": berlin.isoformat()},
            {"code": code, "scanned_at": moment.isoformat().replace("+00:00", "Z")},
        ]
        result = (await upload(client, sold.event["id"], scans, sold.crew.staff)).json()
        assert len(result["accepted"]) == 1 and len(result["duplicates"]) == 1
        assert result["accepted"][0]["checked_in_at"] == moment.isoformat()
        assert when(result["duplicates"][0]["checked_in_at"]) == moment

    async def test_bad_batches_are_422_naming_the_field(self, client: httpx.AsyncClient) -> None:
        sold = await sale(client)
        event_id, code = sold.event["id"], sold.tickets[0]["code"]
        now = datetime.now(UTC)
        cases: list[tuple[list[dict[str, Any]], str]] = [
            ([], "scans"),
            ([{"code": code, "scanned_at": "2026-03-01T19:30:00"}], "scans.0.scanned_at"),
            ([{"code": code, "scanned_at": 1767225600}], "scans.0.scanned_at"),
            ([{"code": code, "scanned_at": "yesterday"}], "scans.0.scanned_at"),
            ([{"code": code}], "scans.0.scanned_at"),
            ([{"code": "", "scanned_at": at(now)}], "scans.0.code"),
            (
                [
                    {"code": code, "scanned_at": at(now)},
                    {"code": code, "scanned_at": at(now + timedelta(hours=1))},
                ],
                "scans[1].scanned_at",
            ),
            ([{"code": code, "scanned_at": at(now)}] * 5001, "scans"),
        ]
        for scans, field in cases:
            assert_problem(await upload(client, event_id, scans, sold.crew.staff), 422, field)
        assert_problem(
            await client.post(
                f"{API}/events/{event_id}/check-ins/batch",
                json={"scans": "all"},
                headers=sold.crew.staff.headers,
            ),
            422,
            "scans",
        )
        # Nothing was written by the refused batches.
        shown = await client.get(
            f"{API}/tickets/{sold.tickets[0]['id']}", headers=sold.buyer.headers
        )
        assert shown.json()["checked_in_at"] is None
        # A little clock skew is tolerated.
        skewed = [{"code": code, "scanned_at": at(now + timedelta(minutes=2))}]
        response = await upload(client, event_id, skewed, sold.crew.staff)
        assert response.status_code == 200, response.text
        assert len(response.json()["accepted"]) == 1

    async def test_large_batch(self, client: httpx.AsyncClient) -> None:
        sold = await sale(client, n=10)
        now = datetime.now(UTC).replace(microsecond=0)
        scans = [
            {"code": f"unknown-{i}", "scanned_at": at(now - timedelta(seconds=i))}
            for i in range(4990)
        ] + [
            {"code": t["code"], "scanned_at": at(now - timedelta(minutes=1))} for t in sold.tickets
        ]
        response = await upload(client, sold.event["id"], scans, sold.crew.staff)
        assert response.status_code == 200, response.text
        result = response.json()
        assert len(result["accepted"]) == 10 and len(result["unknown"]) == 4990

    async def test_access(self, client: httpx.AsyncClient) -> None:
        sold = await sale(client)
        scans = [{"code": sold.tickets[0]["code"], "scanned_at": at(datetime.now(UTC))}]
        for account in (sold.crew.outsider, sold.buyer):
            assert_problem(await upload(client, sold.event["id"], scans, account), 403)
        assert_problem(
            await client.post(
                f"{API}/events/{sold.event['id']}/check-ins/batch", json={"scans": scans}
            ),
            401,
        )


class TestCheckInList:
    async def test_every_ticket_for_offline_scanners(self, client: httpx.AsyncClient) -> None:
        sold = await sale(client, n=2)
        event_id = sold.event["id"]
        second = await paid_order(client, sold.buyer, event_id, sold.ticket_type_id)
        cancelled = await client.post(
            f"{API}/orders/{second['id']}/cancel", headers=sold.buyer.headers
        )
        assert cancelled.status_code == 200
        admitted = await scan(client, event_id, sold.tickets[0]["code"], sold.crew.staff)
        url = f"{API}/events/{event_id}/check-in-list"

        response = await client.get(url, headers=sold.crew.staff.headers)
        assert response.status_code == 200, response.text
        assert set(response.json()) == {"data"}
        rows = {row["ticket_id"]: row for row in response.json()["data"]}
        assert set(rows) == {t["id"] for t in sold.tickets + second["tickets"]}
        first = rows[sold.tickets[0]["id"]]
        assert set(first) == {
            "ticket_id",
            "code",
            "attendee_name",
            "ticket_type_id",
            "status",
            "checked_in_at",
        }
        assert first["code"] == sold.tickets[0]["code"]
        assert first["status"] == "valid"
        assert first["checked_in_at"] == admitted.json()["checked_in_at"]
        assert rows[sold.tickets[1]["id"]]["checked_in_at"] is None
        assert rows[second["tickets"][0]["id"]]["status"] == "void"

        etag = response.headers["etag"]
        unchanged = await client.get(
            url, headers={**sold.crew.staff.headers, "If-None-Match": etag}
        )
        assert unchanged.status_code == 304
        await scan(client, event_id, sold.tickets[1]["code"], sold.crew.staff)
        changed = await client.get(url, headers={**sold.crew.staff.headers, "If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag

        for account in (sold.crew.outsider, sold.buyer):
            assert_problem(await client.get(url, headers=account.headers), 403)
        assert_problem(await client.get(url), 401)


# --- two scanners, one ticket, the same instant (PostgreSQL: real concurrent writers) ----------


@pytest.fixture
async def unsafe_app(backend: Backend, var_dir: Path) -> AsyncIterator[FastAPI]:
    """The negative control: the same database, check-in by read-then-write."""
    if backend.name != "postgres":
        pytest.skip("SQLite serializes writers: a race needs PostgreSQL")
    application = create_app(make_settings(backend, var_dir, unsafe_inventory_for_tests=True))
    async with application.router.lifespan_context(application):
        yield application


async def double_scan(app: FastAPI, event_id: str, code: str, by: Account) -> list[httpx.Response]:
    """Two scanners send the same code at once, each over its own connection."""
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://a") as first,
        httpx.AsyncClient(transport=transport, base_url="http://b") as second,
    ):
        return list(
            await asyncio.gather(scan(first, event_id, code, by), scan(second, event_id, code, by))
        )


ROUNDS = 4


class TestDoubleScanRace:
    async def test_exactly_one_admission(
        self, client: httpx.AsyncClient, app: FastAPI, backend: Backend
    ) -> None:
        if backend.name != "postgres":
            pytest.skip("SQLite serializes writers: a race needs PostgreSQL")
        sold = await sale(client, n=ROUNDS)
        for ticket in sold.tickets:
            responses = await double_scan(app, sold.event["id"], ticket["code"], sold.crew.staff)
            statuses = sorted(response.status_code for response in responses)
            assert statuses == [201, 409], [r.text for r in responses]
            admitted = next(r for r in responses if r.status_code == 201).json()
            refused = next(r for r in responses if r.status_code == 409).json()
            assert refused["checked_in_at"] == admitted["checked_in_at"]

    async def test_negative_control_admits_twice(
        self, client: httpx.AsyncClient, unsafe_app: FastAPI
    ) -> None:
        """Without the conditional UPDATE the same race lets both scanners in: the test above
        would catch a regression to read-then-write."""
        sold: Sale = await sale(client, n=ROUNDS)
        doubles = 0
        for ticket in sold.tickets:
            responses = await double_scan(
                unsafe_app, sold.event["id"], ticket["code"], sold.crew.staff
            )
            statuses = [response.status_code for response in responses]
            assert set(statuses) <= {201, 409}, [r.text for r in responses]
            doubles += statuses == [201, 201]
        assert doubles >= 1, "the unguarded check-in never raced: the race test proves nothing"
