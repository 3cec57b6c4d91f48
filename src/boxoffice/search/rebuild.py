"""``boxoffice search reindex``: rebuild the index while searches keep answering.

The alias idea: searches read the copy named by ``search_state.active``. A rebuild clears the
other copy, flags it as ``building`` (from then on every change is written to both copies),
fills it from the events in batches of short transactions, then swaps the alias and rebuilds
the vocabulary in one transaction. Readers never see a half-built copy; writers never wait for
more than one batch. The old copy is left as it was and is cleared by the next rebuild.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import func, select, update

from boxoffice.core.timestamps import utcnow
from boxoffice.db.engine import Database
from boxoffice.events.models import Event, EventStatus
from boxoffice.search.backend import backend_for, backend_named
from boxoffice.search.documents import load_documents
from boxoffice.search.state import read_state
from boxoffice.search.tables import Letter, state

BATCH_SIZE = 2000
Progress = Callable[[int, int], None]


class RebuildInProgress(RuntimeError):
    pass


async def rebuild_index(
    database: Database,
    *,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    force: bool = False,
) -> int:
    """Rebuild the search index; returns how many events it holds. ``force`` takes over a
    rebuild that was interrupted (its process died) instead of refusing."""
    target = await _start(database, force=force)
    async with database.write_sessions() as session:
        total = int(
            await session.scalar(
                select(func.count()).select_from(Event).where(Event.status == EventStatus.PUBLISHED)
            )
            or 0
        )
    done = 0
    if progress:
        progress(0, total)
    after: uuid.UUID | None = None
    while True:
        async with database.write_sessions() as session, session.begin():
            query = select(Event.id).where(Event.status == EventStatus.PUBLISHED)
            if after is not None:
                query = query.where(Event.id > after)
            ids = list(await session.scalars(query.order_by(Event.id).limit(batch_size)))
            if not ids:
                break
            documents = await load_documents(session, ids, lock=True)
            await backend_for(session).write(session, target, list(documents.values()))
        after = ids[-1]
        done += len(ids)
        if progress:
            progress(min(done, total), max(total, done))
    backend = backend_named(database.write_engine.dialect.name)
    await backend.after_bulk_fill(database.write_engine, target)
    return await _swap(database, target)


async def _start(database: Database, *, force: bool) -> Letter:
    async with database.write_sessions() as session, session.begin():
        index = await read_state(session, lock="update")
        if index.building is not None and not force:
            raise RebuildInProgress(
                f"a rebuild into copy {index.building!r} is already running "
                "(if its process died, run `boxoffice search reindex --force`)"
            )
        target: Letter = "b" if index.active == "a" else "a"
        backend = backend_for(session)
        await backend.clear(session, target)
        await backend.before_bulk_fill(session, target)
        await session.execute(
            update(state).where(state.c.id == 1).values(building=target, updated_at=utcnow())
        )
    return target


async def _swap(database: Database, target: Letter) -> int:
    async with database.write_sessions() as session, session.begin():
        index = await read_state(session, lock="update")
        if index.building != target:
            raise RebuildInProgress("another rebuild took over this one")
        backend = backend_for(session)
        await backend.rebuild_terms(session, target)
        await session.execute(
            update(state)
            .where(state.c.id == 1)
            .values(active=target, building=None, rebuild_required=False, updated_at=utcnow())
        )
        table = backend.events(target)
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def rebuild_if_required(database: Database, *, progress: Progress | None = None) -> bool:
    """Fill the index after the migration that created it; True when it ran."""
    async with database.write_sessions() as session:
        index = await read_state(session)
    if not index.rebuild_required:
        return False
    await rebuild_index(database, progress=progress, force=True)
    return True
