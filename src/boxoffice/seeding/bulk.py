"""``boxoffice seed --events N``: a fast bulk loader of realistic synthetic events.

Published events in the cities of :data:`~boxoffice.seeding.world.WORLD_CITIES` (bigger cities
get more events; the catalogue's cities keep their real venues, the others get invented ones a
few km from the centre), with the category vocabularies of
:data:`~boxoffice.seeding.catalog.CATEGORY_PROFILES`, 1-3 ticket types each in the city's
currency, run by :data:`ORGANIZATIONS` (created on first use, reused by slug afterwards).
Start times are spread over :data:`SPAN_DAYS` days from :data:`PAST_DAYS` days ago, at local
hours typical of the category.

Rows are generated and written in chunks of :data:`CHUNK_SIZE` events, one transaction each:
``COPY`` on PostgreSQL, ``executemany`` on SQLite. The next chunk is generated in a thread while
the database takes the current one. The search index is rebuilt at the end.
"""

from __future__ import annotations

import asyncio
import math
import re
import uuid
import zlib
from bisect import bisect
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.config import Settings
from boxoffice.core.money import MINOR_UNITS
from boxoffice.core.progress import progress_bar
from boxoffice.core.text import slugify
from boxoffice.core.timestamps import utcnow
from boxoffice.db.engine import Database, create_database
from boxoffice.events.models import Event, EventStatus
from boxoffice.organizations.models import Membership, Organization, Role
from boxoffice.search.rebuild import rebuild_index
from boxoffice.seeding.catalog import (
    CATEGORY_PROFILES,
    CITIES,
    ONLINE_PROBABILITY,
    CategoryProfile,
    City,
    EventFormat,
    Venue,
    _nice_quantity,
    _pick_venue,
)
from boxoffice.seeding.demo import _demo_owner
from boxoffice.seeding.world import POPULATIONS, WORLD_CITIES, WORLD_PRICE_LEVELS
from boxoffice.ticketing.models import TicketType

__all__ = [
    "CHUNK_SIZE",
    "ORGANIZATIONS",
    "PAST_DAYS",
    "SPAN_DAYS",
    "seed_bulk",
    "seed_cities",
]

CHUNK_SIZE = 20_000
PAST_DAYS = 30
SPAN_DAYS = 730
MAX_TICKET_TYPES = 3
VENUES_PER_CATEGORY = 3
VENUE_RADIUS_KM = 5.0
TAG_ORDERS = 64
KM_PER_DEGREE = 111.32

Progress = Callable[[int, int], None]
Row = tuple[Any, ...]

_ALL = tuple(CATEGORY_PROFILES)

# Organizer names and the categories each one runs.
ORGANIZATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Harbour Lights Live", ("music", "nightlife")),
    ("Blue Door Presents", ("music", "comedy")),
    ("Northern Stage Company", ("theatre",)),
    ("Velvet Curtain Productions", ("theatre", "comedy")),
    ("Laugh Track Comedy Club", ("comedy",)),
    ("Open Mic Collective", ("comedy", "music")),
    ("Riverside Sports Trust", ("sports", "family")),
    ("Matchday Events", ("sports",)),
    ("Summit and Co.", ("conference", "tech")),
    ("Future Forum Partners", ("conference",)),
    ("DevCircle", ("tech", "workshop")),
    ("Code and Coffee Meetups", ("tech",)),
    ("The Makers' Guild", ("workshop", "art")),
    ("Clay Street Studios", ("workshop", "art")),
    ("Taste Trail Festivals", ("food-drink",)),
    ("Grape and Grain Society", ("food-drink",)),
    ("Midnight Reel Cinema Club", ("film",)),
    ("Silver Screen Society", ("film", "art")),
    ("Gallery Row Collective", ("art",)),
    ("Canvas and Light", ("art", "workshop")),
    ("Tiny Footsteps Family Events", ("family",)),
    ("Wonder Box Kids", ("family", "workshop")),
    ("Afterhours Collective", ("nightlife",)),
    ("Neon Pulse Nights", ("nightlife", "music")),
    ("Golden Hour Concerts", ("music",)),
    ("Sound Garden Promotions", ("music", "food-drink")),
    ("Citywide Culture Office", ("art", "film", "theatre", "family")),
    ("Greenfield Festivals", ("music", "food-drink", "family")),
    ("Metro Arts Council", ("theatre", "art", "music")),
    ("Lighthouse Learning", ("workshop", "conference")),
    ("Bright Minds Academy", ("workshop", "family", "tech")),
    ("Hackspace Commons", ("tech", "workshop")),
    ("Data Harbour", ("tech", "conference")),
    ("Cloud Nine Conferences", ("conference", "tech")),
    ("Stagecraft Theatre Guild", ("theatre",)),
    ("Punchline Promotions", ("comedy",)),
    ("Half-Court Events", ("sports",)),
    ("Finish Line Sports", ("sports", "family")),
    ("Street Feast Markets", ("food-drink",)),
    ("Supper Club Society", ("food-drink", "nightlife")),
    ("Basement Beats", ("nightlife", "music")),
    ("Orchestra of the Commons", ("music",)),
    ("Little Lantern Theatre", ("theatre", "family")),
    ("Frame by Frame Film Festival", ("film",)),
    ("Open Studio Network", ("art", "workshop")),
    ("Weekend Wanderers", ("family", "food-drink", "sports")),
    ("Signal and Noise Media", ("tech", "film", "conference")),
    ("Old Town Cultural Association", ("music", "theatre", "art", "film")),
    ("Late Night Laughs", ("comedy", "nightlife")),
    ("Global Events Network", _ALL),
)

# Invented venues: per category, names a city plausibly has ("{city}" is the city's name).
_VENUE_NAMES: Mapping[str, tuple[str, ...]] = {
    "music": (
        "{city} Concert Hall",
        "{city} Arena",
        "The Blue Note Club",
        "Old Harbour Warehouse",
        "The Velvet Room",
        "Riverside Music Hall",
        "Town Hall",
    ),
    "theatre": (
        "{city} Playhouse",
        "Grand Theatre",
        "Civic Theatre",
        "Town Hall",
        "The Little Theatre",
        "{city} Opera House",
    ),
    "comedy": (
        "The Laughing Fox",
        "The Basement Club",
        "Corner Stage",
        "Town Hall",
        "The Velvet Room",
    ),
    "sports": (
        "{city} Arena",
        "{city} Sports Hall",
        "Municipal Stadium",
        "Riverside Sports Centre",
        "University Sports Park",
    ),
    "conference": (
        "{city} Convention Centre",
        "{city} Congress Centre",
        "Exhibition Halls",
        "University Great Hall",
        "Grand Hotel Ballroom",
    ),
    "workshop": (
        "Makers' Studio",
        "Community Arts Centre",
        "The Print Workshop",
        "Old Mill Studios",
        "Central Library",
    ),
    "food-drink": (
        "Market Hall",
        "The Old Brewery",
        "Riverside Pavilion",
        "Harbour Market",
        "Botanical Garden Pavilion",
    ),
    "film": (
        "Film House",
        "The Palace Cinema",
        "Arthouse Cinema",
        "Open-Air Cinema in the Park",
        "Central Library",
    ),
    "art": (
        "City Gallery",
        "Museum of Contemporary Art",
        "The Old Post Office Gallery",
        "Warehouse Gallery",
        "Community Arts Centre",
    ),
    "family": (
        "Science Museum",
        "Children's Museum",
        "City Park Pavilion",
        "Botanical Garden Pavilion",
        "Town Hall",
    ),
    "nightlife": (
        "Old Harbour Warehouse",
        "Club Neon",
        "The Basement Club",
        "Rooftop Terrace",
        "The Power Station",
    ),
    "tech": (
        "Innovation Hub",
        "Tech Campus",
        "Coworking Loft",
        "Central Library",
        "University Great Hall",
    ),
}
_STREETS = (
    "Market Street",
    "Harbour Road",
    "Station Square",
    "Park Avenue",
    "Mill Lane",
    "Church Street",
    "King Street",
    "River Walk",
    "High Street",
    "Castle Road",
    "Garden Lane",
    "Museum Square",
    "Old Town Square",
    "University Avenue",
)
_START_MINUTES = (0, 0, 0, 30)
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ONLINE_SENTENCE = "This event takes place online; the streaming link is sent with your ticket."
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z{\"])")

EVENT_COLUMNS = (
    "id",
    "organization_id",
    "title",
    "description",
    "category",
    "tags",
    "starts_at",
    "ends_at",
    "timezone",
    "status",
    "venue_name",
    "venue_address",
    "city",
    "country",
    "lat",
    "lon",
    "online_url",
    "published_at",
    "version",
    "created_at",
    "updated_at",
)
TICKET_COLUMNS = (
    "id",
    "event_id",
    "name",
    "price_amount",
    "currency",
    "quantity",
    "sold",
    "held",
    "max_per_order",
    "created_at",
    "updated_at",
)


def seed_cities() -> tuple[City, ...]:
    """WORLD_CITIES and CITIES; the catalogue's version (with venues) where both list a city."""
    catalog = {(city.name, city.country): city for city in CITIES}
    world = tuple(catalog.get((city.name, city.country), city) for city in WORLD_CITIES)
    listed = {(city.name, city.country) for city in world}
    return world + tuple(city for key, city in catalog.items() if key not in listed)


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Format:
    titles: tuple[str, ...]
    descriptions: tuple[tuple[str, ...], ...]  # sentence templates
    online_descriptions: tuple[tuple[str, ...], ...]
    tag_key: str


@dataclass(frozen=True, slots=True)
class _Profile:
    profile: CategoryProfile
    formats: tuple[_Format, ...]
    words: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...]  # key, key_lower, ...
    tag_orders: tuple[tuple[str, ...], ...]  # shuffles of the general tag pool
    value_tags: Mapping[str, tuple[str, ...]]
    weekday_shift: tuple[int, ...]  # days from each weekday to the next preferred one


@dataclass(frozen=True, slots=True)
class _Place:
    city: City
    zone: ZoneInfo
    venues: Mapping[str, tuple[Venue, ...]]  # empty for catalogue cities (real venues)


def _sentences(template: str) -> tuple[str, ...]:
    return tuple(_SENTENCE_END.split(template))


def _format(event_format: EventFormat) -> _Format:
    return _Format(
        titles=event_format.titles,
        descriptions=tuple(_sentences(text) for text in event_format.descriptions),
        online_descriptions=tuple(_sentences(text) for text in event_format.online_descriptions),
        tag_key=event_format.tag_key,
    )


def _profile(profile: CategoryProfile, rng: Random) -> _Profile:
    values = {value for options in profile.words.values() for value in options}
    pool = list(dict.fromkeys(tag for tag in map(slugify, profile.tags) if tag))
    value_tags = {
        value: tuple(
            dict.fromkeys(
                tag for tag in map(slugify, profile.value_tags.get(value, (value,))) if tag
            )
        )
        for value in values
    }
    shift = tuple(
        next(step for step in range(7) if (weekday + step) % 7 in profile.weekdays)
        for weekday in range(7)
    )
    return _Profile(
        profile=profile,
        formats=tuple(_format(event_format) for event_format in profile.formats),
        words=tuple(
            (key, f"{key}_lower", options, tuple(option.lower() for option in options))
            for key, options in profile.words.items()
        ),
        tag_orders=tuple(tuple(rng.sample(pool, len(pool))) for _ in range(TAG_ORDERS)),
        value_tags=value_tags,
        weekday_shift=shift,
    )


def _venue(city: City, name: str) -> Venue:
    """An invented venue, the same for the same city and name, within VENUE_RADIUS_KM."""
    rng = Random(zlib.crc32(f"{city.country}|{city.name}|{name}".encode()))  # noqa: S311
    distance = VENUE_RADIUS_KM * math.sqrt(rng.random())
    bearing = rng.uniform(0, 2 * math.pi)
    lat = city.lat + distance * math.cos(bearing) / KM_PER_DEGREE
    lon = city.lon + distance * math.sin(bearing) / (
        KM_PER_DEGREE * max(math.cos(math.radians(city.lat)), 0.01)
    )
    lon = (lon + 540) % 360 - 180
    address = f"{rng.randint(1, 180)} {rng.choice(_STREETS)}, {city.name}"
    return Venue(name, address, round(lat, 5), round(lon, 5))


def _place(city: City) -> _Place:
    venues: dict[str, tuple[Venue, ...]] = {}
    if not city.venues:
        rng = Random(zlib.crc32(f"{city.country}|{city.name}".encode()))  # noqa: S311
        made: dict[str, Venue] = {}
        for category in CATEGORY_PROFILES:
            names = rng.sample(_VENUE_NAMES[category], VENUES_PER_CATEGORY)
            for template in names:
                name = template.format(city=city.name)
                if name not in made:
                    made[name] = _venue(city, name)
            venues[category] = tuple(made[template.format(city=city.name)] for template in names)
    return _Place(city=city, zone=ZoneInfo(city.timezone), venues=venues)


def _pick(rng: Random, options: Sequence[Any]) -> Any:
    return options[int(rng.random() * len(options))]


def _between(rng: Random, low: int, high: int) -> int:
    """Like ``rng.randint`` (both ends included), at a fraction of its cost."""
    return low + int(rng.random() * (high - low + 1))


def _subset(rng: Random, start: int, stop: int, count: int) -> list[int]:
    """``count`` distinct numbers of ``range(start, stop)``, sorted."""
    pool = list(range(start, stop))
    for i in range(count):
        j = i + int(rng.random() * (len(pool) - i))
        pool[i], pool[j] = pool[j], pool[i]
    return sorted(pool[:count])


def _nice_price(price_eur: float, currency: str) -> int:
    """Like the catalogue's prices: halves below 100 major units, else two significant digits."""
    digits = MINOR_UNITS[currency]
    major = price_eur * WORLD_PRICE_LEVELS[currency]
    if digits > 0 and major < 100:
        nice = max(math.floor(major * 2 + 0.5) / 2, 0.5)
    else:
        step = 10 ** max(math.floor(math.log10(major)) - 1, 0)
        nice = max(math.floor(major / step + 0.5) * step, 1)
    return round(nice * 10.0**digits)


class _Generator:
    """Turns one seeded Random into rows, chunk after chunk (one thread at a time)."""

    def __init__(
        self,
        rng: Random,
        *,
        now: datetime,
        organizations: Mapping[str, Sequence[uuid.UUID]],
        postgres: bool,
    ) -> None:
        self.rng = rng
        self.now = now
        self.window_start = now - timedelta(days=PAST_DAYS)
        self.window_end = self.window_start + timedelta(days=SPAN_DAYS)
        self.organizations = organizations
        self.postgres = postgres
        cities = seed_cities()
        self.places = [_place(city) for city in cities]
        self.place_weights = list(
            accumulate(math.sqrt(POPULATIONS.get((c.name, c.country), 100)) for c in cities)
        )
        self.profiles = [_profile(profile, rng) for profile in CATEGORY_PROFILES.values()]
        self.online_profiles = [p for p in self.profiles if p.profile.online_ok]
        self.profile_weights = list(accumulate(p.profile.weight for p in self.profiles))
        self.online_weights = list(accumulate(p.profile.weight for p in self.online_profiles))
        self.first_days = {
            place.zone.key: self.window_start.astimezone(place.zone).date() for place in self.places
        }

    def chunk(self, count: int) -> tuple[list[Row], list[Row]]:
        events: list[Row] = []
        tickets: list[Row] = []
        for _ in range(count):
            self._event(events, tickets)
        return events, tickets

    def _choose(self, items: Sequence[Any], weights: Sequence[float]) -> Any:
        index = bisect(weights, self.rng.random() * weights[-1])
        return items[min(index, len(items) - 1)]

    def _event(self, events: list[Row], tickets: list[Row]) -> None:
        rng = self.rng
        online = rng.random() < ONLINE_PROBABILITY
        chosen: _Profile = (
            self._choose(self.online_profiles, self.online_weights)
            if online
            else self._choose(self.profiles, self.profile_weights)
        )
        profile = chosen.profile
        place: _Place = self._choose(self.places, self.place_weights)
        city = place.city
        venue: Venue | None = None
        if not online:
            venue = (
                _pick(rng, place.venues[profile.slug])
                if place.venues
                else _pick_venue(rng, city, profile.slug)
            )
        event_format: _Format = _pick(rng, chosen.formats)
        starts_at, day = self._start(chosen, place)
        low, high = profile.duration_hours
        half_hours = round(low * 2) + int(rng.random() * (round(high * 2) - round(low * 2) + 1))
        ends_at = starts_at + timedelta(minutes=30 * half_hours)

        values: dict[str, str] = {}
        for key, key_lower, options, lowers in chosen.words:
            index = int(rng.random() * len(options))
            values[key] = options[index]
            values[key_lower] = lowers[index]
        values["city"] = city.name
        values["venue"] = venue.name if venue else "online"
        values["where"] = f"at {venue.name} in {city.name}" if venue else "online"
        values["weekday"] = _WEEKDAY_NAMES[day.weekday()]
        values["year"] = str(day.year)
        values["edition"] = str(_between(rng, 2, 60))

        title = _pick(rng, event_format.titles).format_map(values)
        descriptions = (online and event_format.online_descriptions) or event_format.descriptions
        description = self._description(_pick(rng, descriptions), values, online=online)
        tags = self._tags(chosen, values[event_format.tag_key], online=online)

        event_id = uuid.uuid4()
        published = self.now if starts_at > self.now else starts_at - timedelta(days=60)
        online_url = (
            f"https://stream.example.org/{slugify(title) or 'event'}-{event_id.hex[:8]}"
            if online
            else None
        )
        events.append(
            (
                event_id,
                _pick(rng, self.organizations[profile.slug]),
                title,
                description,
                profile.slug,
                orjson.dumps(tags).decode() if self.postgres else tags,
                starts_at,
                ends_at,
                city.timezone,
                EventStatus.PUBLISHED.value if self.postgres else EventStatus.PUBLISHED,
                venue.name if venue else None,
                venue.address if venue else None,
                city.name if venue else None,
                city.country if venue else None,
                venue.lat if venue else None,
                venue.lon if venue else None,
                online_url,
                published,
                1,
                published,
                published,
            )
        )
        self._tickets(tickets, event_id, profile, city.currency, published)

    def _start(self, chosen: _Profile, place: _Place) -> tuple[datetime, date]:
        """A UTC start inside the window at a typical local hour, and its local date."""
        rng = self.rng
        first_day = self.first_days[place.zone.key]
        first_hour, last_hour = chosen.profile.start_hours
        while True:
            day = first_day + timedelta(days=int(rng.random() * SPAN_DAYS))
            day += timedelta(days=chosen.weekday_shift[day.weekday()])
            hour = first_hour + int(rng.random() * (last_hour - first_hour + 1))
            minute = _START_MINUTES[int(rng.random() * len(_START_MINUTES))]
            local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=place.zone)
            starts_at = local.astimezone(UTC)
            if self.window_start <= starts_at < self.window_end:
                return starts_at, day

    def _description(
        self, sentences: tuple[str, ...], values: dict[str, str], *, online: bool
    ) -> str:
        rng = self.rng
        wanted = _between(rng, 2, 4) - (1 if online else 0)
        if len(sentences) > wanted:
            rest = _subset(rng, 1, len(sentences), wanted - 1)
            sentences = (sentences[0], *(sentences[i] for i in rest))
        # A value ending in a full stop ("Clay and Co.") may close a sentence.
        text = " ".join(sentences).format_map(values).replace("..", ".")
        return f"{text} {_ONLINE_SENTENCE}" if online else text

    def _tags(self, chosen: _Profile, tag_value: str, *, online: bool) -> list[str]:
        rng = self.rng
        specific = chosen.value_tags[tag_value]
        pool = _pick(rng, chosen.tag_orders)
        candidates = [*specific[:1], *(["online"] if online else []), *specific[1:], *pool]
        return list(dict.fromkeys(candidates))[: _between(rng, 2, 5)]

    def _tickets(
        self,
        tickets: list[Row],
        event_id: uuid.UUID,
        profile: CategoryProfile,
        currency: str,
        created: datetime,
    ) -> None:
        rng = self.rng
        templates = profile.ticket_types
        primary = templates[0]
        if rng.random() < profile.free_probability:
            quantity = _nice_quantity(_between(rng, *primary.quantity))
            tickets.append(
                (
                    uuid.uuid4(),
                    event_id,
                    profile.free_ticket_name,
                    0,
                    currency,
                    quantity,
                    0,
                    0,
                    primary.max_per_order,
                    created,
                    created,
                )
            )
            return
        extra = _between(rng, 0, min(MAX_TICKET_TYPES - 1, len(templates) - 1))
        chosen = _subset(rng, 1, len(templates), extra)
        # One price level per event: an Early Bird stays cheaper than General Admission.
        level = rng.random()
        for template in (primary, *(templates[i] for i in chosen)):
            low, high = template.price_eur
            tickets.append(
                (
                    uuid.uuid4(),
                    event_id,
                    template.name,
                    _nice_price(low + level * (high - low), currency),
                    currency,
                    _nice_quantity(_between(rng, *template.quantity)),
                    0,
                    0,
                    template.max_per_order,
                    created,
                    created,
                )
            )


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


async def _organizations(database: Database, now: datetime) -> dict[str, list[uuid.UUID]]:
    """Create the missing ORGANIZATIONS; return category -> ids of the ones that run it."""
    slugs = {name: slugify(name) for name, _ in ORGANIZATIONS}
    async with database.write_sessions() as session, session.begin():
        owner = await _demo_owner(session, now)
        rows = await session.execute(
            select(Organization.slug, Organization.id).where(
                Organization.slug.in_(list(slugs.values()))
            )
        )
        ids: dict[str, uuid.UUID] = dict(rows.all())
        for name, _ in ORGANIZATIONS:
            if slugs[name] in ids:
                continue
            organization = Organization(name=name, slug=slugs[name], created_at=now, updated_at=now)
            session.add(organization)
            await session.flush()
            session.add(
                Membership(
                    organization_id=organization.id,
                    user_id=owner.id,
                    role=Role.OWNER,
                    created_at=now,
                )
            )
            ids[slugs[name]] = organization.id
    return {
        category: [ids[slugs[name]] for name, categories in ORGANIZATIONS if category in categories]
        for category in CATEGORY_PROFILES
    }


async def _copy(connection: AsyncConnection, events: list[Row], tickets: list[Row]) -> None:
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    async with driver.transaction():
        await driver.copy_records_to_table("events", records=events, columns=EVENT_COLUMNS)
        await driver.copy_records_to_table("ticket_types", records=tickets, columns=TICKET_COLUMNS)


async def _insert(connection: AsyncConnection, events: list[Row], tickets: list[Row]) -> None:
    async with connection.begin():
        await connection.execute(
            insert(Event), [dict(zip(EVENT_COLUMNS, row, strict=True)) for row in events]
        )
        await connection.execute(
            insert(TicketType), [dict(zip(TICKET_COLUMNS, row, strict=True)) for row in tickets]
        )


async def _load(
    database: Database, generator: _Generator, event_count: int, progress: Progress
) -> None:
    write = _copy if generator.postgres else _insert
    sizes = [min(CHUNK_SIZE, event_count - start) for start in range(0, event_count, CHUNK_SIZE)]
    done = 0
    progress(0, event_count)
    async with database.write_engine.connect() as connection:
        pending = asyncio.create_task(asyncio.to_thread(generator.chunk, sizes[0]))
        try:
            for index, size in enumerate(sizes):
                events, tickets = await pending
                if index + 1 < len(sizes):
                    next_size = sizes[index + 1]
                    pending = asyncio.create_task(asyncio.to_thread(generator.chunk, next_size))
                await write(connection, events, tickets)
                done += size
                progress(done, event_count)
        finally:
            pending.cancel()


@contextmanager
def _bar(label: str, *, enabled: bool) -> Iterator[Progress]:
    if not enabled:
        yield lambda done, total: None
        return
    with progress_bar(label) as update:
        yield update


async def _analyze(database: Database) -> None:
    """Fresh planner statistics: without them PostgreSQL guesses a million rows are a few
    thousand and, for one, reads every ticket type to summarise a page of events."""
    async with database.write_engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("organizations", "events", "ticket_types"):
            await autocommit.execute(text(f"ANALYZE {table}"))


async def seed_bulk(
    settings: Settings, *, event_count: int, seed: int = 2026, progress: bool = True
) -> int:
    """Load ``event_count`` published events, then rebuild the search index; returns the count.

    The same ``seed`` on the same day gives the same events under new ids: running it twice
    with one seed adds copies, with another seed a different batch.
    """
    if event_count < 1:
        raise ValueError("event_count must be positive")
    database = create_database(settings)
    now = utcnow()
    try:
        organizations = await _organizations(database, now)
        generator = _Generator(
            Random(seed),  # noqa: S311 - reproducible synthetic data, not secrets
            now=now,
            organizations=organizations,
            postgres=not settings.is_sqlite,
        )
        with _bar("seeding events", enabled=progress) as update:
            await _load(database, generator, event_count, update)
        await _analyze(database)
        with _bar("indexing events", enabled=progress) as update:
            await rebuild_index(database, progress=update)
        return event_count
    finally:
        await database.dispose()
