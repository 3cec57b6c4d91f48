"""The unit of work: one transaction per request, committed in exactly one place.

Routes receive a session through ``WriteSession`` (primary; committed when the route returns,
rolled back on any error) or ``ReadSession`` (replica-capable, never commits). Services only
``flush()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.errors import Problem
from boxoffice.db.engine import Database


def get_database(request: Request) -> Database:
    database: Database = request.app.state.resources.database
    return database


async def _write_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_database(request).write_sessions() as session:
        try:
            yield session
        except Problem as problem:
            if problem.keeps_changes:
                await session.commit()
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_database(request).read_sessions() as session:
        try:
            yield session
        finally:
            await session.rollback()


WriteSession = Annotated[AsyncSession, Depends(_write_session, scope="function")]
ReadSession = Annotated[AsyncSession, Depends(_read_session, scope="function")]
