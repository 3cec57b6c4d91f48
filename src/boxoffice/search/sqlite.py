"""SQLite search: FTS5 (porter stemming, diacritics removed, bm25 with field weights), an
R*Tree per copy for the bounding box, and an FTS5 trigram table for type-ahead."""

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
    delete,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from boxoffice.events.geo import BoundingBox
from boxoffice.search.backend import TermCandidate
from boxoffice.search.documents import SearchDocument
from boxoffice.search.tables import (
    KIND_ORDER,
    Letter,
    sqlite_events,
    sqlite_geo,
    sqlite_text,
    terms,
    vocabulary_from,
)
from boxoffice.search.text import ParsedQuery, fold

# bm25 weights for title, labels, place, description.
BM25_WEIGHTS = (10.0, 4.0, 2.0, 1.0)
TYPO_CANDIDATES = 300
KIND_PRIORITY = (
    "CASE t.kind "
    + " ".join(f"WHEN '{kind}' THEN {rank}" for kind, rank in KIND_ORDER.items())
    + f" ELSE {len(KIND_ORDER)} END"
)


class SqliteSearch:
    dialect = "sqlite"

    def events(self, letter: Letter) -> Table:
        return sqlite_events[letter]

    def match(
        self, query: Select[Any], letter: Letter, parsed: ParsedQuery
    ) -> tuple[Select[Any], ColumnElement[float]]:
        table, fts = sqlite_events[letter], sqlite_text[letter]
        required, excluded = parsed.fts5()
        fts_table: ColumnElement[Any] = literal_column(fts.name)
        if required is None:
            assert excluded is not None
            unwanted = select(fts.c.rowid).where(fts_table.op("MATCH")(excluded))
            return query.where(table.c.doc_id.not_in(unwanted)), literal_column("0.0", Float)
        expression = f"({required}) NOT ({excluded})" if excluded else required
        query = query.join(fts, fts.c.rowid == table.c.doc_id).where(
            fts_table.op("MATCH")(expression)
        )
        return query, func.bm25(fts_table, *BM25_WEIGHTS, type_=Float)

    def within_box(self, letter: Letter, box: BoundingBox) -> ColumnElement[bool]:
        table, geo = sqlite_events[letter], sqlite_geo[letter]
        inside = select(geo.c.id).where(geo.c.max_lat >= box.min_lat, geo.c.min_lat <= box.max_lat)
        if not box.wraps:
            inside = inside.where(geo.c.max_lon >= box.min_lon, geo.c.min_lon <= box.max_lon)
        return table.c.doc_id.in_(inside)

    async def write(
        self, session: AsyncSession, letter: Letter, docs: Sequence[SearchDocument]
    ) -> None:
        if not docs:
            return
        table, fts, geo = sqlite_events[letter], sqlite_text[letter], sqlite_geo[letter]
        columns = [column.name for column in table.c if column.name != "doc_id"]
        # A few executemany calls per batch, not a handful of statements per document.
        statement = insert(table)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c.event_id],
                set_={name: statement.excluded[name] for name in columns if name != "event_id"},
            ),
            [{name: getattr(doc, name) for name in columns} for doc in docs],
        )
        by_event = {doc.event_id: doc for doc in docs}
        doc_ids = {
            event_id: doc_id
            for doc_id, event_id in await session.execute(
                select(table.c.doc_id, table.c.event_id).where(table.c.event_id.in_(by_event))
            )
        }
        stale = [{"doc_id": doc_id} for doc_id in doc_ids.values()]
        await session.execute(delete(fts).where(fts.c.rowid == bindparam("doc_id")), stale)
        await session.execute(delete(geo).where(geo.c.id == bindparam("doc_id")), stale)
        # Folded like the query words (ß -> ss, ligatures), so both sides agree.
        await session.execute(
            fts.insert(),
            [
                {
                    "rowid": doc_id,
                    "title": fold(by_event[event_id].title),
                    "labels": fold(by_event[event_id].labels),
                    "place": fold(by_event[event_id].place),
                    "description": fold(by_event[event_id].description),
                }
                for event_id, doc_id in doc_ids.items()
            ],
        )
        located = [
            {"id": doc_id, "lat": doc.lat, "lon": doc.lon}
            for event_id, doc_id in doc_ids.items()
            if (doc := by_event[event_id]).lat is not None and doc.lon is not None
        ]
        if located:
            await session.execute(
                geo.insert().values(
                    id=bindparam("id"),
                    min_lat=bindparam("lat"),
                    max_lat=bindparam("lat"),
                    min_lon=bindparam("lon"),
                    max_lon=bindparam("lon"),
                ),
                located,
            )

    async def before_bulk_fill(self, session: AsyncSession, letter: Letter) -> None:
        return None

    async def after_bulk_fill(self, engine: AsyncEngine, letter: Letter) -> None:
        async with engine.begin() as connection:
            await connection.execute(text(f"ANALYZE {sqlite_events[letter].name}"))

    async def delete(self, session: AsyncSession, letter: Letter, event_id: uuid.UUID) -> None:
        table, fts, geo = sqlite_events[letter], sqlite_text[letter], sqlite_geo[letter]
        doc_id = await session.scalar(select(table.c.doc_id).where(table.c.event_id == event_id))
        if doc_id is None:
            return
        await session.execute(delete(fts).where(fts.c.rowid == doc_id))
        await session.execute(delete(geo).where(geo.c.id == doc_id))
        await session.execute(delete(table).where(table.c.doc_id == doc_id))

    async def clear(self, session: AsyncSession, letter: Letter) -> None:
        for table in (sqlite_text[letter], sqlite_geo[letter], sqlite_events[letter]):
            await session.execute(delete(table))

    async def adjust_term(
        self, session: AsyncSession, kind: str, key: str, label: str, delta: int
    ) -> None:
        if delta > 0:
            row = (
                await session.execute(
                    text(
                        "INSERT INTO search_terms (kind, key, label, events) "
                        "VALUES (:kind, :key, :label, :delta) "
                        "ON CONFLICT (kind, key) DO UPDATE "
                        "SET events = events + :delta, label = excluded.label "
                        "RETURNING rowid, events"
                    ),
                    {"kind": kind, "key": key, "label": label, "delta": delta},
                )
            ).one()
            if row.events == delta:  # a new entry
                await session.execute(
                    text("INSERT INTO search_terms_trigrams (rowid, key) VALUES (:rowid, :key)"),
                    {"rowid": row.rowid, "key": key},
                )
            return
        updated = (
            await session.execute(
                text(
                    "UPDATE search_terms SET events = events + :delta "
                    "WHERE kind = :kind AND key = :key RETURNING rowid, events"
                ),
                {"kind": kind, "key": key, "delta": delta},
            )
        ).first()
        if updated is not None and updated.events <= 0:
            for table_name in ("search_terms_trigrams", "search_terms"):
                await session.execute(
                    text(f"DELETE FROM {table_name} WHERE rowid = :rowid"),
                    {"rowid": updated.rowid},
                )

    async def rebuild_terms(self, session: AsyncSession, letter: Letter) -> None:
        source = sqlite_events[letter].name
        await session.execute(text("DELETE FROM search_terms_trigrams"))
        await session.execute(delete(terms))
        await session.execute(text(vocabulary_from(source)))
        await session.execute(
            text(
                "INSERT INTO search_terms_trigrams (rowid, key) SELECT rowid, key FROM search_terms"
            )
        )

    async def term_candidates(
        self, session: AsyncSession, prefix: str, *, typos: bool, limit: int
    ) -> list[TermCandidate]:
        columns = "t.kind, t.key, t.label, t.events"
        found = list(
            await session.execute(
                text(
                    f"SELECT {columns} FROM search_terms t WHERE t.key >= :low AND t.key < :high "
                    f"ORDER BY {KIND_PRIORITY}, t.events DESC LIMIT :limit"
                ),
                {"low": prefix, "high": prefix + "\U0010ffff", "limit": limit},
            )
        )
        if len(prefix) >= 2:  # with the leading space, "% qz%" holds a trigram
            found += list(
                await session.execute(
                    text(
                        f"SELECT {columns} FROM search_terms_trigrams g "
                        "JOIN search_terms t ON t.rowid = g.rowid "
                        "WHERE g.key LIKE :pattern "
                        f"ORDER BY {KIND_PRIORITY}, t.events DESC LIMIT :limit"
                    ),
                    {"pattern": f"% {prefix}%", "limit": limit},
                )
            )
        if typos:
            grams = sorted({prefix[i : i + 3] for i in range(len(prefix) - 2)})
            expression = " OR ".join('"' + gram.replace('"', '""') + '"' for gram in grams)
            found += list(
                await session.execute(
                    text(
                        f"SELECT {columns} FROM search_terms_trigrams g "
                        "JOIN search_terms t ON t.rowid = g.rowid "
                        "WHERE search_terms_trigrams MATCH :expression "
                        f"ORDER BY {KIND_PRIORITY}, g.rank LIMIT :limit"
                    ),
                    {"expression": expression, "limit": TYPO_CANDIDATES},
                )
            )
        return [TermCandidate(row.kind, row.key, row.label, row.events) for row in found]
