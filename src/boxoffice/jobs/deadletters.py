"""The dead-letter store: list, inspect, requeue and purge jobs that failed all retries."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.jobs import outbox
from boxoffice.jobs.models import DeadJob


async def page(
    session: AsyncSession,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    job: str | None = None,
    include_requeued: bool = False,
) -> list[DeadJob]:
    """Newest failures first."""
    query = select(DeadJob)
    if not include_requeued:
        query = query.where(DeadJob.requeued_at.is_(None))
    if job is not None:
        query = query.where(DeadJob.job == job)
    if after is not None:
        query = query.where(tuple_(DeadJob.failed_at, DeadJob.id) < tuple_(*after))
    query = query.order_by(DeadJob.failed_at.desc(), DeadJob.id.desc()).limit(limit)
    return list(await session.scalars(query))


async def count(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(DeadJob).where(DeadJob.requeued_at.is_(None))
        )
        or 0
    )


async def requeue(session: AsyncSession, dead: DeadJob, *, now: datetime) -> uuid.UUID:
    """Run the job again from scratch (fresh retries), once: a requeued entry stays listed
    with ``requeued_at`` and the new outbox row's id. Returns that id."""
    new_id = await outbox.enqueue(session, dead.job, dead.payload, now=now)
    assert new_id is not None
    moved = await session.execute(
        update(DeadJob)
        .where(DeadJob.id == dead.id, DeadJob.requeued_at.is_(None))
        .values(requeued_at=now, requeued_as=new_id)
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        raise AlreadyRequeued()
    return new_id


class AlreadyRequeued(Exception):
    pass


async def purge(
    session: AsyncSession, *, ids: list[uuid.UUID] | None = None, before: datetime | None = None
) -> int:
    """Delete the given entries, or every entry that failed before ``before`` (or all)."""
    statement = delete(DeadJob)
    if ids is not None:
        statement = statement.where(DeadJob.id.in_(ids))
    if before is not None:
        statement = statement.where(DeadJob.failed_at < before)
    result = await session.execute(statement)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
