"""Keyset pagination of ``GET /events`` is stable under concurrent inserts.

Walking a listing by ``next_cursor`` while other events are published between page fetches must
return every event that existed when the walk began exactly once, whatever the page size and
wherever the new events fall: before the page being read, after it, or at the very same start
time as its last item (ties are broken by id).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.helpers import API, Account, create_organization, published_event, register

# Far enough ahead that no event ends during a run; whole hours make equal start times likely.
BASE = datetime(2035, 5, 1, 18, 0, tzinfo=UTC)
HOURS = 6  # pre-existing events start at BASE + 0..HOURS-1 h
MAX_PAGES = 200

# Where an event inserted mid-walk starts: an hour offset from BASE (negative: before every
# pre-existing event; HOURS and more: after all of them), or "tie": the same start time as the
# last item of the page just read.
InsertAt = int | str
insert_positions = st.one_of(st.integers(min_value=-2, max_value=HOURS + 1), st.just("tie"))


@pytest.fixture(scope="module")
async def organizer(app: object) -> AsyncIterator[Account]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield await register(http)


async def new_event(
    client: httpx.AsyncClient, org_id: str, by: Account, starts: datetime, title: str
) -> str:
    event = await published_event(
        client,
        org_id,
        by,
        starts=starts,
        title=title,
        ticket={"quantity": 1},
    )
    return str(event["id"])


async def fetch_page(
    client: httpx.AsyncClient, org_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    params: dict[str, Any] = {"organization_id": org_id, "limit": limit}
    if cursor is not None:
        params["cursor"] = cursor
    response = await client.get(f"{API}/events", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["data"]) <= limit
    return body["data"], body["next_cursor"]


def sort_key(item: dict[str, Any]) -> tuple[datetime, uuid.UUID]:
    return datetime.fromisoformat(item["starts_at"]), uuid.UUID(item["id"])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    existing_hours=st.lists(st.integers(min_value=0, max_value=HOURS - 1), max_size=15),
    page_size=st.integers(min_value=1, max_value=6),
    # What to insert after each page; drawn up front, as how many pages there will be depends
    # on the ids the server gives out (they order equal start times).
    insert_plan=st.lists(st.lists(insert_positions, max_size=3), max_size=8),
)
@example(  # always tried: a full walk with inserts of every kind at every step
    existing_hours=[0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5, 5],
    page_size=4,
    insert_plan=[[-1, "tie", HOURS + 1], ["tie", 2], [0, 5, "tie"], ["tie"]],
)
async def test_cursor_walk_returns_every_existing_event_once_despite_inserts(
    client: httpx.AsyncClient,
    organizer: Account,
    existing_hours: list[int],
    page_size: int,
    insert_plan: list[list[InsertAt]],
) -> None:
    org_id = await create_organization(client, organizer, name="Pagination property")
    existing = {
        await new_event(client, org_id, organizer, BASE + timedelta(hours=hour), "existing")
        for hour in existing_hours
    }
    seen: list[str] = []
    previous_key: tuple[datetime, uuid.UUID] | None = None
    cursor: str | None = None
    for page in range(MAX_PAGES):
        items, cursor = await fetch_page(client, org_id, page_size, cursor)
        keys = [sort_key(item) for item in items]
        assert keys == sorted(keys), "a page is not in (starts_at, id) order"
        if previous_key is not None and keys:
            assert keys[0] > previous_key, "a page goes back behind the previous one"
        if keys:
            previous_key = keys[-1]
        seen.extend(item["id"] for item in items)
        if cursor is None:
            break
        for position in insert_plan[page] if page < len(insert_plan) else []:
            if position == "tie":
                assert previous_key is not None
                starts = previous_key[0]
            else:
                assert isinstance(position, int)
                starts = BASE + timedelta(hours=position)
            await new_event(client, org_id, organizer, starts, "inserted")
    else:
        raise AssertionError("the cursor walk does not end")

    assert len(seen) == len(set(seen)), "an event came back twice"
    missing = existing - set(seen)
    assert not missing, f"{len(missing)} pre-existing event(s) never came back"


class TestEqualStartTimes:
    async def test_ties_are_walked_in_id_order_without_gaps_or_duplicates(
        self, client: httpx.AsyncClient, organizer: Account
    ) -> None:
        org_id = await create_organization(client, organizer, name="Ties")
        created = [await new_event(client, org_id, organizer, BASE, "tie") for _ in range(7)]
        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            items, cursor = await fetch_page(client, org_id, 2, cursor)
            assert all(item["starts_at"] == BASE.isoformat() for item in items)
            seen.extend(item["id"] for item in items)
            pages += 1
            if cursor is None:
                break
            assert pages < 10
        assert pages == 4
        assert seen == sorted(created, key=uuid.UUID)

    async def test_a_tie_inserted_mid_walk_does_not_shift_the_pages(
        self, client: httpx.AsyncClient, organizer: Account
    ) -> None:
        org_id = await create_organization(client, organizer, name="Ties with inserts")
        created = {await new_event(client, org_id, organizer, BASE, "tie") for _ in range(6)}
        first, cursor = await fetch_page(client, org_id, 3, None)
        for _ in range(3):
            await new_event(client, org_id, organizer, BASE, "late tie")
        rest: list[dict[str, Any]] = []
        while cursor is not None:
            items, cursor = await fetch_page(client, org_id, 3, cursor)
            rest.extend(items)
        seen = [item["id"] for item in first + rest]
        assert len(seen) == len(set(seen))
        assert created <= set(seen)
        last_of_first = uuid.UUID(first[-1]["id"])
        assert all(uuid.UUID(item["id"]) > last_of_first for item in rest)
