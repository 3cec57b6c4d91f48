"""Searching the index: the event listing, its facets and type-ahead suggestions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    Table,
    func,
    literal,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.errors import ValidationFailed
from boxoffice.events import geo
from boxoffice.search.backend import SearchBackend, backend_for
from boxoffice.search.filters import EventFilters
from boxoffice.search.state import read_state
from boxoffice.search.tables import KIND_ORDER, Letter
from boxoffice.search.text import search_key, tolerant_match, words

SUGGESTIONS = 10
SUGGEST_CANDIDATES = 50
MIN_SUGGEST_LENGTH = 2
TYPO_MIN_LENGTH = 4
CITY_FACETS = 20


@dataclass(frozen=True, slots=True)
class EventHit:
    event_id: uuid.UUID
    distance_km: float | None


@dataclass(slots=True)
class _Search:
    """A query over one copy of the index, filters applied."""

    query: Select[Any]
    score: ColumnElement[float] | None
    distance: ColumnElement[float] | None


def _build(backend: SearchBackend, letter: Letter, filters: EventFilters, now: datetime) -> _Search:
    table = backend.events(letter)
    query: Select[Any] = select(table.c.event_id).select_from(table)
    if filters.starts_after is None and filters.starts_before is None:
        query = query.where(table.c.ends_at > now)
    if filters.starts_after is not None:
        query = query.where(table.c.starts_at >= filters.starts_after)
    if filters.starts_before is not None:
        query = query.where(table.c.starts_at < filters.starts_before)
    if filters.category:
        query = query.where(table.c.category == filters.category)
    if filters.city:
        query = query.where(table.c.city_key == search_key(filters.city))
    if filters.organization_id:
        query = query.where(table.c.organization_id == filters.organization_id)
    if filters.free is not None:
        query = query.where(table.c.free.is_(filters.free))
    if filters.available is not None:
        query = query.where(table.c.sold_out.is_(not filters.available))
    distance: ColumnElement[float] | None = None
    if filters.near is not None:
        distance = geo.distance_km(backend.dialect, table.c.lat, table.c.lon, to=filters.near)
        if filters.radius_km is not None:
            box = geo.bounding_box(*filters.near, filters.radius_km)
            query = query.where(backend.within_box(letter, box), distance <= filters.radius_km)
        else:
            query = query.where(table.c.lat.is_not(None))
    score: ColumnElement[float] | None = None
    if filters.query is not None and not filters.query.is_empty:
        query, score = backend.match(query, letter, filters.query)
    return _Search(query, score, distance)


def _sort_keys(
    search: _Search, filters: EventFilters, table: Table
) -> list[SQLColumnExpression[Any]]:
    """Sort columns, ending in the event id so that every key is unique (keyset pagination)."""
    if filters.sort == "distance":
        if search.distance is None:
            raise ValidationFailed("sort", "sort=distance needs lat and lon")
        return [search.distance, table.c.event_id]
    if filters.sort == "relevance" and search.score is not None:
        # Equally relevant events: the sooner first.
        return [search.score, table.c.starts_at, table.c.event_id]
    return [table.c.starts_at, table.c.event_id]


async def search_events(
    session: AsyncSession,
    *,
    filters: EventFilters,
    limit: int,
    after: tuple[Any, ...] | None,
    now: datetime,
) -> tuple[list[EventHit], tuple[Any, ...] | None]:
    """One page of matching published events and the sort key to continue after, if any.

    Keyset pagination on (sort value, id) for every sort, relevance and distance included:
    the score of a document for a query is deterministic, so the key is stable between pages.
    """
    backend = backend_for(session)
    letter = (await read_state(session)).active
    table = backend.events(letter)
    search = _build(backend, letter, filters, now)
    sort_keys = _sort_keys(search, filters, table)
    query = search.query.add_columns(
        search.distance.label("distance_km") if search.distance is not None else literal(None),
        *[key.label(f"sort_{index}") for index, key in enumerate(sort_keys)],
    )
    if after is not None:
        query = query.where(tuple_(*sort_keys) > tuple_(*after))
    rows = (await session.execute(query.order_by(*sort_keys).limit(limit + 1))).all()
    hits = [EventHit(event_id=row[0], distance_km=row[1]) for row in rows[:limit]]
    if len(rows) <= limit:
        return hits, None
    return hits, tuple(rows[limit - 1][2:])


@dataclass(frozen=True, slots=True)
class DateBucket:
    name: str
    starts_after: datetime
    starts_before: datetime


def date_buckets(now: datetime, zone: ZoneInfo) -> list[DateBucket]:
    """Today, this weekend (Saturday and Sunday; from today when it is the weekend), the next
    seven days and the rest of this month, as UTC ranges of local days in ``zone``."""
    local_now = now.astimezone(zone)
    today = local_now.date()

    def midnight(day: Any) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(now.tzinfo)

    saturday = today + timedelta(days=(5 - today.weekday()) % 7)
    if today.weekday() == 6:  # Sunday: the weekend is today
        saturday = today
    monday = today + timedelta(days=7 - today.weekday())
    first_of_next = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
    return [
        DateBucket("today", midnight(today), midnight(today + timedelta(days=1))),
        DateBucket("this_weekend", midnight(saturday), midnight(monday)),
        DateBucket("next_7_days", midnight(today), midnight(today + timedelta(days=7))),
        DateBucket("this_month", midnight(today), midnight(first_of_next)),
    ]


async def facets(
    session: AsyncSession, *, filters: EventFilters, now: datetime, zone: ZoneInfo
) -> dict[str, Any]:
    """Counts for the current query: in total, per category, per city and per date bucket.

    Each facet ignores its own filter ("what would I get by picking this one instead"), so
    every count equals the length of the listing with that value applied.
    """
    backend = backend_for(session)
    letter = (await read_state(session)).active
    table = backend.events(letter)

    def counted(search: _Search) -> Select[Any]:
        return search.query.with_only_columns(func.count()).order_by(None)

    by_category = _build(backend, letter, filters.without("category"), now).query
    categories = list(
        await session.execute(
            by_category.with_only_columns(table.c.category, func.count().label("n"))
            .group_by(table.c.category)
            .order_by(func.count().desc(), table.c.category)
        )
    )
    if filters.category is None:  # the category facet already counted the whole listing
        total = sum(count for _, count in categories)
    else:
        total = await session.scalar(counted(_build(backend, letter, filters, now)))
    by_city = _build(backend, letter, filters.without("city"), now).query
    cities = await session.execute(
        by_city.with_only_columns(table.c.city_key, func.min(table.c.city), func.count())
        .where(table.c.city_key.is_not(None))
        .group_by(table.c.city_key)
        .order_by(func.count().desc(), table.c.city_key)
        .limit(CITY_FACETS)
    )
    buckets = date_buckets(now, zone)
    undated = filters.without("starts_after", "starts_before")
    bucket_counts = (
        await session.execute(_date_counts(backend, letter, undated, buckets, now))
    ).one()
    return {
        "total": int(total or 0),
        "categories": [{"value": value, "count": count} for value, count in categories],
        "cities": [{"value": label, "count": count} for _, label, count in cities],
        "dates": [
            {
                "value": bucket.name,
                "starts_after": bucket.starts_after,
                "starts_before": bucket.starts_before,
                "count": int(count or 0),
            }
            for bucket, count in zip(buckets, bucket_counts, strict=True)
        ],
    }


def _date_counts(
    backend: SearchBackend,
    letter: Letter,
    undated: EventFilters,
    buckets: list[DateBucket],
    now: datetime,
) -> Select[Any]:
    # A bucket is a date filter, so like the listing with dates it has no "not ended yet"
    # condition: the search is built over the widest bucket range and counted per bucket.
    widest = replace(
        undated,
        starts_after=min(bucket.starts_after for bucket in buckets),
        starts_before=max(bucket.starts_before for bucket in buckets),
    )
    table = backend.events(letter)
    query = _build(backend, letter, widest, now).query
    counts: Select[Any] = query.with_only_columns(  # type: ignore[assignment]
        *[
            func.count().filter(
                (table.c.starts_at >= bucket.starts_after)
                & (table.c.starts_at < bucket.starts_before)
            )
            for bucket in buckets
        ]
    ).order_by(None)
    return counts


async def suggest(session: AsyncSession, text: str) -> list[dict[str, Any]]:
    """Up to ten titles, cities and categories for what has been typed so far."""
    prefix = " ".join(words(text))[:60]
    if len(prefix) < MIN_SUGGEST_LENGTH:
        return []
    backend = backend_for(session)
    candidates = await backend.term_candidates(
        session, prefix, typos=len(prefix) >= TYPO_MIN_LENGTH, limit=SUGGEST_CANDIDATES
    )
    ranked: dict[tuple[str, str], tuple[tuple[int, int, int, str], dict[str, Any]]] = {}
    for candidate in candidates:
        quality = tolerant_match(prefix, candidate.key)
        if quality is None or candidate.events <= 0:
            continue
        order = (quality, KIND_ORDER.get(candidate.kind, 3), -candidate.events, candidate.key)
        ranked[(candidate.kind, candidate.key)] = (
            order,
            {
                "kind": candidate.kind,
                "label": candidate.label,
                "events": candidate.events,
                "filter": _filter_for(candidate.kind, candidate.label),
            },
        )
    return [item for _, item in sorted(ranked.values(), key=lambda entry: entry[0])][:SUGGESTIONS]


def _filter_for(kind: str, label: str) -> dict[str, str]:
    if kind == "category":
        return {"category": label}
    if kind == "city":
        return {"city": label}
    return {"q": '"' + label.replace('"', " ") + '"'}
