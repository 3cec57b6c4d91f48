"""What the index holds for one event, read from the source-of-truth tables."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.events.models import Event, EventStatus
from boxoffice.organizations.models import Organization
from boxoffice.search.text import search_key
from boxoffice.ticketing.models import TicketType


@dataclass(frozen=True, slots=True)
class SearchDocument:
    """Filter columns plus the text in four weighted fields:
    title ≫ labels (category, tags) ≫ place (venue, city, organizer) ≫ description."""

    event_id: uuid.UUID
    organization_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    category: str
    city: str | None
    city_key: str | None
    lat: float | None
    lon: float | None
    free: bool
    sold_out: bool
    title: str
    title_key: str
    labels: str
    place: str
    description: str


@dataclass(frozen=True, slots=True)
class Terms:
    """The type-ahead vocabulary one indexed event contributes to."""

    title: tuple[str, str]  # (key, label)
    city: tuple[str, str] | None
    category: tuple[str, str]

    def by_kind(self) -> dict[str, tuple[str, str] | None]:
        return {"title": self.title, "city": self.city, "category": self.category}


def terms_of(document: SearchDocument) -> Terms:
    city = (
        (document.city_key, document.city)
        if document.city_key and document.city is not None
        else None
    )
    return Terms(
        title=(document.title_key, document.title),
        city=city,
        category=(document.category, document.category),
    )


def _document(event: Event, organizer: str, free: bool, sold_out: bool) -> SearchDocument:
    tags = event.tags if isinstance(event.tags, list) else []
    place = [event.venue_name, event.venue_address, event.city, organizer]
    return SearchDocument(
        event_id=event.id,
        organization_id=event.organization_id,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        category=event.category,
        city=event.city,
        city_key=search_key(event.city) if event.city else None,
        lat=event.lat,
        lon=event.lon,
        free=free,
        sold_out=sold_out,
        title=event.title,
        title_key=search_key(event.title)[:200],
        labels=" ".join([event.category, *(str(tag) for tag in tags)]),
        place=" ".join(part for part in place if part),
        description=event.description or "",
    )


async def load_documents(
    session: AsyncSession, event_ids: Sequence[uuid.UUID], *, lock: bool = False
) -> dict[uuid.UUID, SearchDocument]:
    """Documents of those events that belong in the index (published ones).

    ``lock`` takes a share lock on the event rows (PostgreSQL), so a rebuild batch reads each
    event after any transaction changing it has committed, never before.
    """
    if not event_ids:
        return {}
    query = (
        # The shared seats left come from SQL, not the Event object: an order in this
        # transaction moved the counters with a Core UPDATE the identity map has not seen.
        select(Event, Organization.name, Event.capacity - Event.sold - Event.held)
        .join(Organization, Organization.id == Event.organization_id)
        .where(Event.id.in_(event_ids), Event.status == EventStatus.PUBLISHED)
    )
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(read=True, of=Event)
    rows = (await session.execute(query)).all()
    inventory = {
        event_id: (int(cheapest), int(left or 0))
        for event_id, cheapest, left in await session.execute(
            select(
                TicketType.event_id,
                func.min(TicketType.price_amount),
                func.sum(TicketType.quantity - TicketType.sold - TicketType.held),
            )
            .where(TicketType.event_id.in_([event.id for event, _, _ in rows]))
            .group_by(TicketType.event_id)
        )
    }
    documents = {}
    for event, organizer, shared_left in rows:
        cheapest, left = inventory.get(event.id, (None, 0))
        sold_out = left <= 0 or (shared_left is not None and shared_left <= 0)
        documents[event.id] = _document(event, organizer, free=cheapest == 0, sold_out=sold_out)
    return documents


async def indexed_terms(session: AsyncSession, table: Table, event_id: uuid.UUID) -> Terms | None:
    """The vocabulary entries the event's document in ``table`` contributes, if it is there."""
    columns = table.c
    row = (
        await session.execute(
            select(
                columns.title_key, columns.title, columns.city_key, columns.city, columns.category
            ).where(columns.event_id == event_id)
        )
    ).first()
    if row is None:
        return None
    city = (row.city_key, row.city) if row.city_key and row.city is not None else None
    return Terms(title=(row.title_key, row.title), city=city, category=(row.category, row.category))
