"""The search tables as SQLAlchemy Core objects (the DDL is in migration 0002).

They live outside the ORM metadata: their engine-specific parts (``tsvector``, FTS5 and R*Tree
virtual tables) have no portable model, and migration drift checks ignore ``search_*`` tables.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
)
from sqlalchemy.dialects.postgresql import TSVECTOR

from boxoffice.db.base import UTCDateTime

Letter = Literal["a", "b"]
LETTERS: tuple[Letter, Letter] = ("a", "b")
PREFIX = "search_"

metadata = MetaData()

# Suggestions: among equally good matches, the few categories and cities before the many
# titles, so a city is never crowded out by titles that contain its name.
KIND_ORDER = {"category": 0, "city": 1, "title": 2}

state = Table(
    "search_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("active", String(1), nullable=False),
    Column("building", String(1)),
    Column("rebuild_required", Boolean, nullable=False),
    Column("updated_at", UTCDateTime),
)

terms = Table(
    "search_terms",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("label", String(200), nullable=False),
    Column("events", Integer, nullable=False),
)


def _event_columns() -> list[Column[object]]:
    return [
        Column("event_id", Uuid, nullable=False),
        Column("organization_id", Uuid, nullable=False),
        Column("starts_at", UTCDateTime, nullable=False),
        Column("ends_at", UTCDateTime, nullable=False),
        Column("category", String(40), nullable=False),
        Column("city", String(120)),
        Column("city_key", String(120)),
        Column("lat", Float),
        Column("lon", Float),
        Column("free", Boolean, nullable=False),
        Column("sold_out", Boolean, nullable=False),
        Column("title", String(200), nullable=False),
        Column("title_key", String(200), nullable=False),
    ]


def events_table_name(letter: Letter) -> str:
    return f"search_events_{letter}"


# PostgreSQL: one table per copy; the text is a weighted tsvector.
pg_events: dict[Letter, Table] = {
    letter: Table(
        events_table_name(letter),
        metadata,
        *_event_columns(),
        Column("document", TSVECTOR, nullable=False),
    )
    for letter in LETTERS
}

# SQLite: the row table (doc_id is its rowid), an FTS5 table and an R*Tree keyed by doc_id.
sqlite_metadata = MetaData()
sqlite_events: dict[Letter, Table] = {
    letter: Table(
        events_table_name(letter),
        sqlite_metadata,
        Column("doc_id", Integer, primary_key=True),
        *_event_columns(),
    )
    for letter in LETTERS
}
sqlite_text: dict[Letter, Table] = {
    letter: Table(
        f"search_events_{letter}_text",
        sqlite_metadata,
        Column("rowid", Integer, primary_key=True),
        Column("title", String),
        Column("labels", String),
        Column("place", String),
        Column("description", String),
    )
    for letter in LETTERS
}
sqlite_geo: dict[Letter, Table] = {
    letter: Table(
        f"search_events_{letter}_geo",
        sqlite_metadata,
        Column("id", Integer, primary_key=True),
        Column("min_lat", Float),
        Column("max_lat", Float),
        Column("min_lon", Float),
        Column("max_lon", Float),
    )
    for letter in LETTERS
}
sqlite_term_trigrams = Table(
    "search_terms_trigrams",
    sqlite_metadata,
    Column("rowid", Integer, primary_key=True),
    Column("key", String),
)


def vocabulary_from(source: str) -> str:
    """INSERT … SELECT of the whole vocabulary computed from one copy (same SQL on both
    engines; ``source`` is one of the table names above, never user input)."""
    return (
        "INSERT INTO search_terms (kind, key, label, events) "
        f"SELECT 'title', title_key, min(title), count(*) FROM {source} GROUP BY title_key "
        "UNION ALL "
        f"SELECT 'city', city_key, min(city), count(*) FROM {source} "
        "WHERE city_key IS NOT NULL GROUP BY city_key "
        "UNION ALL "
        f"SELECT 'category', category, category, count(*) FROM {source} GROUP BY category"
    )
