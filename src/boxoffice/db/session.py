"""The unit of work: one transaction per request, committed in exactly one place.

Routes receive a session through ``WriteSession`` (primary; committed when the route returns,
rolled back on any error) or ``ReadSession`` (replica-capable, never commits). Services only
``flush()``, and say what they changed with :func:`record_change`; once the transaction has
committed (never before, never after a rollback) the changed topics' cache generations are
bumped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.errors import Problem
from boxoffice.db.engine import Database
from boxoffice.jobs.outbox import wrote_outbox
from boxoffice.observability.logging import get_logger

_log = get_logger("boxoffice.db")


_CHANGES = "boxoffice.changes"


def record_change(session: AsyncSession, *topics: str) -> None:
    """Note that data behind these cache topics changed in this transaction."""
    changes: set[str] = session.info.setdefault(_CHANGES, set())
    changes.update(topics)


def take_changes(session: AsyncSession) -> set[str]:
    """The topics recorded so far (and forget them): for work outside a request, which bumps
    them itself after its commit."""
    topics: set[str] = session.info.pop(_CHANGES, set())
    return topics


async def _after_commit(request: Request, session: AsyncSession) -> None:
    if wrote_outbox(session):
        request.app.state.resources.jobs.wake_relay()
    topics = take_changes(session)
    if topics:
        try:
            await request.app.state.resources.cache.bump(*sorted(topics))
        except Exception as exc:
            _log.warning("cache invalidation failed", topics=sorted(topics), error=repr(exc))


def get_database(request: Request) -> Database:
    database: Database = request.app.state.resources.database
    return database


async def _write_session(request: Request) -> AsyncIterator[AsyncSession]:
    # A session holds no connection until its first statement, and a route served from the
    # cache never makes one: then there is nothing to commit, roll back or close.
    session = get_database(request).write_sessions()
    try:
        yield session
    except Problem as problem:
        if problem.keeps_changes:
            await session.commit()
            await _after_commit(request, session)
        elif session.in_transaction():
            await session.rollback()
        raise
    except BaseException:
        if session.in_transaction():
            await session.rollback()
        raise
    else:
        if session.in_transaction():
            await session.commit()
        # Also after work committed outside this session's transaction (the express order
        # path's autocommitted statement), which records its changes here too.
        await _after_commit(request, session)
    finally:
        if session.in_transaction():
            await session.close()


async def _read_only(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    try:
        yield session
    finally:
        if session.in_transaction():
            await session.rollback()


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async for session in _read_only(get_database(request).read_sessions()):
        yield session


async def _primary_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async for session in _read_only(get_database(request).primary_read_sessions()):
        yield session


WriteSession = Annotated[AsyncSession, Depends(_write_session, scope="function")]
ReadSession = Annotated[AsyncSession, Depends(_read_session, scope="function")]
# Up to date like the primary, but holding no write lock: for slow checks before a write.
PrimaryReadSession = Annotated[AsyncSession, Depends(_primary_read_session, scope="function")]
