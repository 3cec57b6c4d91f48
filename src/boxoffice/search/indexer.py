"""Keeping the index in step with the events, inside the transaction that changes them.

Services call :func:`index_event` after flushing a change (create, update, publish, cancel,
ticket types, sold out). The document is re-read from the tables, so the index holds what the
transaction is about to commit: a published event is findable the moment it commits, and a
cancelled one is gone at the same moment.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.events.models import Event, EventStatus
from boxoffice.search.backend import SearchBackend, backend_for
from boxoffice.search.documents import Terms, indexed_terms, load_documents, terms_of
from boxoffice.search.state import read_state

BATCH_SIZE = 1000


async def index_event(session: AsyncSession, event_id: uuid.UUID) -> None:
    backend = backend_for(session)
    # The state is read after the caller's change has locked the event row, so a rebuild
    # either sees this transaction's commit when it copies the event or is already flagged here.
    index = await read_state(session, lock="share")
    document = (await load_documents(session, [event_id])).get(event_id)
    before = await indexed_terms(session, backend.events(index.active), event_id)
    for letter in index.written:
        if document is None:
            await backend.delete(session, letter, event_id)
        else:
            await backend.write(session, letter, [document])
    after = terms_of(document) if document is not None else None
    await _adjust_terms(session, backend, before, after)


async def _adjust_terms(
    session: AsyncSession, backend: SearchBackend, before: Terms | None, after: Terms | None
) -> None:
    old = before.by_kind() if before else {}
    new = after.by_kind() if after else {}
    for kind in ("title", "city", "category"):
        previous, current = old.get(kind), new.get(kind)
        if previous is not None and (current is None or current[0] != previous[0]):
            await backend.adjust_term(session, kind, previous[0], previous[1], -1)
        if current is not None and (previous is None or current[0] != previous[0]):
            await backend.adjust_term(session, kind, current[0], current[1], +1)


async def index_organization(session: AsyncSession, organization_id: uuid.UUID) -> None:
    """The organizer's name is part of every one of its documents: rewrite them all."""
    backend = backend_for(session)
    index = await read_state(session, lock="share")
    after: uuid.UUID | None = None
    while True:
        query = select(Event.id).where(
            Event.organization_id == organization_id, Event.status == EventStatus.PUBLISHED
        )
        if after is not None:
            query = query.where(Event.id > after)
        ids = list(await session.scalars(query.order_by(Event.id).limit(BATCH_SIZE)))
        if not ids:
            return
        documents = list((await load_documents(session, ids)).values())
        for letter in index.written:
            await backend.write(session, letter, documents)
        after = ids[-1]
