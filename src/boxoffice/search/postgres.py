"""PostgreSQL search: weighted tsvector + GIN, websearch_to_tsquery, ts_rank_cd, unaccent,
pg_trgm for type-ahead, GiST on point(lon, lat) for the bounding box."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    Table,
    bindparam,
    case,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import REGCONFIG, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from boxoffice.events.geo import BoundingBox
from boxoffice.search.backend import TermCandidate
from boxoffice.search.documents import SearchDocument
from boxoffice.search.tables import KIND_ORDER, Letter, pg_events, terms, vocabulary_from
from boxoffice.search.text import ParsedQuery, swaps_and_deletions

CONFIG = "boxoffice_search"
# The secondary indexes of a copy (as in migration 0002). A rebuild drops them before it fills
# the copy and builds them afterwards: one bulk build is many times faster than a million
# incremental GIN and GiST insertions.
SECONDARY_INDEXES = {
    "document": "USING gin (document)",
    "starts_at": "(starts_at, event_id)",
    "category": "(category, starts_at, event_id)",
    "city": "(city_key, starts_at, event_id)",
    "organization": "(organization_id, starts_at)",
    "location": "USING gist (point(lon, lat))",
}
BULK_MAINTENANCE_WORK_MEM = "256MB"
# ts_rank_cd weights for D, C, B, A: description, place, labels, title.
RANK_WEIGHTS = "{0.05,0.2,0.5,1.0}"
TYPO_SIMILARITY = 0.4  # "muncih" ~ "munich" scores 0.43; the final ranking re-checks


def _config() -> ColumnElement[Any]:
    return literal(CONFIG, type_=REGCONFIG)


def _weighted(value: ColumnElement[Any], weight: str) -> ColumnElement[Any]:
    # An untyped literal, so PostgreSQL reads it as the "char" that setweight takes.
    return func.setweight(func.to_tsvector(_config(), value), literal_column(f"'{weight}'"))


KIND_PRIORITY = case(
    *[(terms.c.kind == kind, rank) for kind, rank in KIND_ORDER.items()], else_=len(KIND_ORDER)
)


class PostgresSearch:
    dialect = "postgresql"

    def events(self, letter: Letter) -> Table:
        return pg_events[letter]

    def match(
        self, query: Select[Any], letter: Letter, parsed: ParsedQuery
    ) -> tuple[Select[Any], ColumnElement[float]]:
        table = pg_events[letter]
        tsquery = func.websearch_to_tsquery(_config(), parsed.websearch())
        rank = func.ts_rank_cd(
            literal_column(f"'{RANK_WEIGHTS}'::float4[]"), table.c.document, tsquery, type_=Float
        )
        score = (-rank).cast(Float)
        return query.where(table.c.document.op("@@")(tsquery)), score

    def within_box(self, letter: Letter, box: BoundingBox) -> ColumnElement[bool]:
        table = pg_events[letter]
        min_lon, max_lon = (-180.0, 180.0) if box.wraps else (box.min_lon, box.max_lon)
        corner_low = func.point(min_lon, box.min_lat)
        corner_high = func.point(max_lon, box.max_lat)
        point = func.point(table.c.lon, table.c.lat)
        return point.op("<@")(func.box(corner_low, corner_high))

    async def write(
        self, session: AsyncSession, letter: Letter, docs: Sequence[SearchDocument]
    ) -> None:
        if not docs:
            return
        table = pg_events[letter]
        document = (
            _weighted(bindparam("text_title"), "A")
            .op("||")(_weighted(bindparam("text_labels"), "B"))
            .op("||")(_weighted(bindparam("text_place"), "C"))
            .op("||")(_weighted(bindparam("text_description"), "D"))
        )
        columns = [column.name for column in table.c if column.name != "document"]
        statement = insert(table).values(
            {name: bindparam(name, type_=table.c[name].type) for name in columns}
            | {"document": document}
        )
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.event_id],
            set_={
                name: statement.excluded[name]
                for name in [*columns, "document"]
                if name != "event_id"
            },
        )
        await session.execute(
            statement,
            [
                {name: getattr(doc, name) for name in columns}
                | {
                    "text_title": doc.title,
                    "text_labels": doc.labels,
                    "text_place": doc.place,
                    "text_description": doc.description,
                }
                for doc in docs
            ],
        )

    async def before_bulk_fill(self, session: AsyncSession, letter: Letter) -> None:
        table = pg_events[letter].name
        for name in SECONDARY_INDEXES:
            await session.execute(text(f"DROP INDEX IF EXISTS ix_{table}_{name}"))

    async def after_bulk_fill(self, engine: AsyncEngine, letter: Letter) -> None:
        # CONCURRENTLY: changes written to the copy meanwhile are not blocked by the build.
        table = pg_events[letter].name
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(
                text(f"SET maintenance_work_mem = '{BULK_MAINTENANCE_WORK_MEM}'")
            )
            for name, definition in SECONDARY_INDEXES.items():
                await autocommit.execute(
                    text(
                        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_{table}_{name} "
                        f"ON {table} {definition}"
                    )
                )
            await autocommit.execute(text(f"ANALYZE {table}"))

    async def delete(self, session: AsyncSession, letter: Letter, event_id: uuid.UUID) -> None:
        table = pg_events[letter]
        await session.execute(delete(table).where(table.c.event_id == event_id))

    async def clear(self, session: AsyncSession, letter: Letter) -> None:
        await session.execute(text(f"TRUNCATE {pg_events[letter].name}"))

    async def adjust_term(
        self, session: AsyncSession, kind: str, key: str, label: str, delta: int
    ) -> None:
        if delta > 0:
            statement = insert(terms).values(kind=kind, key=key, label=label, events=delta)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[terms.c.kind, terms.c.key],
                    set_={"events": terms.c.events + delta, "label": label},
                )
            )
            return
        where = (terms.c.kind == kind, terms.c.key == key)
        await session.execute(update(terms).where(*where).values(events=terms.c.events + delta))
        await session.execute(delete(terms).where(*where, terms.c.events <= 0))

    async def rebuild_terms(self, session: AsyncSession, letter: Letter) -> None:
        source = pg_events[letter].name
        await session.execute(delete(terms))
        await session.execute(text(vocabulary_from(source)))

    async def term_candidates(
        self, session: AsyncSession, prefix: str, *, typos: bool, limit: int
    ) -> list[TermCandidate]:
        # ``prefix`` holds only letters, digits and spaces (see search/text.py): no LIKE escapes.
        starts = terms.c.key.like(f"{prefix}%")
        word_starts = terms.c.key.like(f"% {prefix}%")
        found = list(
            await session.execute(
                select(terms.c.kind, terms.c.key, terms.c.label, terms.c.events)
                .where(starts | word_starts)
                .order_by(starts.desc(), KIND_PRIORITY, terms.c.events.desc())
                .limit(limit)
            )
        )
        if typos:
            await session.execute(
                text(f"SET LOCAL pg_trgm.word_similarity_threshold = {TYPO_SIMILARITY}")
            )
            similarity = func.word_similarity(prefix, terms.c.key)
            found += list(
                await session.execute(
                    select(terms.c.kind, terms.c.key, terms.c.label, terms.c.events)
                    .where(literal(prefix).op("<%")(terms.c.key))
                    .order_by(similarity.desc(), KIND_PRIORITY, terms.c.events.desc())
                    .limit(limit)
                )
            )
            variants = swaps_and_deletions(prefix)
            found += list(
                await session.execute(
                    select(terms.c.kind, terms.c.key, terms.c.label, terms.c.events)
                    .where(
                        or_(
                            *[terms.c.key.like(f"{variant}%") for variant in variants],
                            *[terms.c.key.like(f"% {variant}%") for variant in variants],
                        )
                    )
                    .order_by(KIND_PRIORITY, terms.c.events.desc())
                    .limit(limit)
                )
            )
        return [TermCandidate(row.kind, row.key, row.label, row.events) for row in found]
