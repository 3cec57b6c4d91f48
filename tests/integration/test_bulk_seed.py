"""`boxoffice seed --events N`: the bulk loader writes realistic, consistent rows on each backend.

Each backend gets a fresh migrated database of its own (the suite's shared one keeps its
counts), seeded once per module with :data:`EVENTS` events.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from boxoffice.core.money import MINOR_UNITS
from boxoffice.core.text import slugify
from boxoffice.core.timestamps import utcnow
from boxoffice.db.engine import create_database
from boxoffice.db.migrate import upgrade
from boxoffice.events.models import Event, EventStatus
from boxoffice.organizations.models import Organization
from boxoffice.search.backend import backend_for
from boxoffice.search.state import read_state
from boxoffice.seeding.bulk import (
    ORGANIZATIONS,
    PAST_DAYS,
    SPAN_DAYS,
    _Generator,
    seed_bulk,
    seed_cities,
)
from boxoffice.seeding.catalog import CATEGORY_PROFILES
from boxoffice.ticketing.models import TicketType
from tests.conftest import (
    Backend,
    _create_postgres_database,
    _drop_postgres_database,
    make_settings,
)

EVENTS = 2_000
CITIES = {(city.name, city.country): city for city in seed_cities()}
# Sentence ends, except inside "Dr. Dino" (a "Co." before a capital does end a sentence).
SENTENCE_END = re.compile(r"(?<!\bDr\.)(?<=[.!?])\s+(?=[A-Z\"])")


@dataclass
class Seeded:
    created: int
    before: datetime
    after: datetime
    events: list[Event]
    tickets: dict[uuid.UUID, list[TicketType]]
    organizations: dict[uuid.UUID, str]
    indexed: int


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


@pytest.fixture(scope="module")
async def seeded(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Seeded]:
    name: str | None = None
    if backend.name == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('bulk') / 'bulk.db'}"
    else:
        url, name = await _create_postgres_database()
    try:
        await asyncio.to_thread(upgrade, url)
        var_dir: Path = tmp_path_factory.mktemp("bulk-var")
        settings = make_settings(Backend(backend.name, url, backend.redis_url), var_dir)
        before = utcnow()
        created = await seed_bulk(settings, event_count=EVENTS, progress=False)
        after = utcnow()
        database = create_database(settings)
        try:
            async with database.read_sessions() as session:
                events = list(await session.scalars(select(Event)))
                tickets: dict[uuid.UUID, list[TicketType]] = defaultdict(list)
                for ticket in await session.scalars(select(TicketType)):
                    tickets[ticket.event_id].append(ticket)
                rows = await session.execute(select(Organization.id, Organization.slug))
                organizations = dict(rows.all())
                index = await read_state(session)
                indexed = await session.scalar(
                    select(func.count()).select_from(backend_for(session).events(index.active))
                )
        finally:
            await database.dispose()
        yield Seeded(
            created, before, after, events, dict(tickets), organizations, int(indexed or 0)
        )
    finally:
        if name is not None:
            await _drop_postgres_database(name)


class TestBulkSeed:
    async def test_counts_and_status(self, seeded: Seeded) -> None:
        assert seeded.created == EVENTS
        assert len(seeded.events) == EVENTS
        assert len(seeded.tickets) == EVENTS
        for event in seeded.events:
            assert event.status == EventStatus.PUBLISHED
            assert event.published_at is not None
            assert 1 <= len(seeded.tickets[event.id]) <= 3
        total = sum(len(tickets) for tickets in seeded.tickets.values())
        assert EVENTS * 1.3 < total < EVENTS * 2.5

    async def test_search_index_was_rebuilt(self, seeded: Seeded) -> None:
        assert seeded.indexed == EVENTS

    async def test_starts_spread_over_two_years(self, seeded: Seeded) -> None:
        earliest = seeded.before - timedelta(days=PAST_DAYS)
        latest = seeded.after - timedelta(days=PAST_DAYS) + timedelta(days=SPAN_DAYS)
        starts = sorted(event.starts_at for event in seeded.events)
        assert earliest <= starts[0] and starts[-1] < latest
        assert starts[0] < seeded.before < starts[-1]
        past = sum(start < seeded.before for start in starts) / EVENTS
        assert 0.01 < past < 0.1  # about 30 days out of 730
        assert starts[-1] - starts[0] > timedelta(days=SPAN_DAYS - 30)
        for event in seeded.events:
            assert timedelta(hours=1) <= event.ends_at - event.starts_at <= timedelta(hours=9)
            assert event.starts_at.tzinfo is not None

    async def test_local_start_hours_match_the_category(self, seeded: Seeded) -> None:
        for event in seeded.events:
            local = event.starts_at.astimezone(ZoneInfo(event.timezone))
            first, last = CATEGORY_PROFILES[event.category].start_hours
            assert first <= local.hour <= last, (event.title, local)
            assert local.minute in (0, 30)

    async def test_one_currency_per_event_the_citys(self, seeded: Seeded) -> None:
        free = 0
        for event in seeded.events:
            tickets = seeded.tickets[event.id]
            currencies = {ticket.currency for ticket in tickets}
            assert len(currencies) == 1
            (currency,) = currencies
            assert currency in MINOR_UNITS
            if event.city is not None:
                assert event.country is not None
                assert CITIES[(event.city, event.country)].currency == currency
            if all(ticket.price_amount == 0 for ticket in tickets):
                free += 1
                assert len(tickets) == 1
            for ticket in tickets:
                assert ticket.quantity > 0 and ticket.sold == ticket.held == 0
                assert 0 <= ticket.price_amount < 2**31
        assert 0.08 < free / EVENTS < 0.25

    async def test_places(self, seeded: Seeded) -> None:
        assert len(CITIES) >= 520
        online = [event for event in seeded.events if event.online_url is not None]
        assert 0.02 < len(online) / EVENTS < 0.09
        for event in online:
            assert event.venue_name is event.city is event.country is event.lat is None
            assert event.online_url is not None and event.online_url.startswith("https://")
        in_person = [event for event in seeded.events if event.online_url is None]
        for event in in_person:
            assert event.venue_name and event.venue_address
            assert event.city is not None and event.country is not None
            assert event.lat is not None and event.lon is not None
            city = CITIES[(event.city, event.country)]
            assert event.timezone == city.timezone
            limit = 15.0 if city.venues else 5.5
            assert _distance_km(city.lat, city.lon, event.lat, event.lon) <= limit
        assert len({(event.city, event.country) for event in in_person}) >= 300
        assert len({event.country for event in in_person}) >= 80

    async def test_text_is_varied_but_repeats_like_real_listings(self, seeded: Seeded) -> None:
        titles = Counter(event.title for event in seeded.events)
        assert len(titles) < 0.85 * EVENTS
        assert titles.most_common(1)[0][1] >= 3
        assert {event.category for event in seeded.events} == set(CATEGORY_PROFILES)
        for event in seeded.events:
            assert 0 < len(event.title) <= 200
            sentences = SENTENCE_END.split(event.description)
            assert 2 <= len(sentences) <= 4, event.description
            assert "{" not in event.title and "{" not in event.description
            assert 2 <= len(event.tags) <= 5
            assert all(tag == slugify(tag) for tag in event.tags)
            assert (event.online_url is not None) == ("online" in event.tags)

    async def test_organizations(self, seeded: Seeded) -> None:
        slugs = {slugify(name) for name, _ in ORGANIZATIONS}
        assert len(slugs) >= 50
        assert slugs <= set(seeded.organizations.values())
        used = Counter(seeded.organizations[event.organization_id] for event in seeded.events)
        assert set(used) <= slugs
        assert len(used) >= 40


def test_same_seed_same_events() -> None:
    now = utcnow()
    organizations = {category: [uuid.uuid4()] for category in CATEGORY_PROFILES}

    def titles(seed: int) -> list[tuple[str, datetime]]:
        generator = _Generator(
            random.Random(seed), now=now, organizations=organizations, postgres=False
        )
        events, _ = generator.chunk(300)
        return [(row[2], row[6]) for row in events]

    assert titles(7) == titles(7)
    assert titles(7) != titles(8)
