"""The one interface each engine implements: how documents are written, matched, ranked,
found near a point and suggested. Everything else in search/ is engine-neutral."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from boxoffice.events.geo import BoundingBox
from boxoffice.search.documents import SearchDocument
from boxoffice.search.tables import Letter
from boxoffice.search.text import ParsedQuery


@dataclass(frozen=True, slots=True)
class TermCandidate:
    kind: str
    key: str
    label: str
    events: int


class SearchBackend(Protocol):
    dialect: str

    def events(self, letter: Letter) -> Table:
        """The copy's row table: event_id and the filter columns."""
        ...

    def match(
        self, query: Select[Any], letter: Letter, parsed: ParsedQuery
    ) -> tuple[Select[Any], ColumnElement[float]]:
        """``query`` narrowed to documents matching ``parsed``, and a score (lower is better)."""
        ...

    def within_box(self, letter: Letter, box: BoundingBox) -> ColumnElement[bool]:
        """Documents inside the box, through the engine's spatial index."""
        ...

    async def write(
        self, session: AsyncSession, letter: Letter, docs: Sequence[SearchDocument]
    ) -> None:
        """Insert or replace these documents."""
        ...

    async def before_bulk_fill(self, session: AsyncSession, letter: Letter) -> None:
        """The (cleared) copy is about to be filled in bulk: drop what is faster built after."""
        ...

    async def after_bulk_fill(self, engine: AsyncEngine, letter: Letter) -> None:
        """Build what ``before_bulk_fill`` dropped, refresh planner statistics."""
        ...

    async def delete(self, session: AsyncSession, letter: Letter, event_id: uuid.UUID) -> None: ...

    async def clear(self, session: AsyncSession, letter: Letter) -> None: ...

    async def adjust_term(
        self, session: AsyncSession, kind: str, key: str, label: str, delta: int
    ) -> None: ...

    async def rebuild_terms(self, session: AsyncSession, letter: Letter) -> None:
        """Replace the whole vocabulary with the one computed from this copy."""
        ...

    async def term_candidates(
        self, session: AsyncSession, prefix: str, *, typos: bool, limit: int
    ) -> list[TermCandidate]:
        """Vocabulary entries that start with ``prefix``, have a word that does, or (``typos``)
        look like it; more than needed, the caller ranks them."""
        ...


def backend_for(session: AsyncSession) -> SearchBackend:
    return backend_named(session.get_bind().dialect.name)


def backend_named(dialect: str) -> SearchBackend:
    if dialect == "postgresql":
        from boxoffice.search.postgres import PostgresSearch  # noqa: PLC0415

        return PostgresSearch()
    from boxoffice.search.sqlite import SqliteSearch  # noqa: PLC0415

    return SqliteSearch()
