"""Writing side effects: :func:`enqueue` adds an outbox row to the caller's transaction, so the
side effect exists if and only if the change commits."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.timestamps import utcnow
from boxoffice.jobs import registry
from boxoffice.jobs.models import OutboxMessage

_WROTE_OUTBOX = "boxoffice.outbox"


async def enqueue(
    session: AsyncSession,
    job: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    delay: timedelta | None = None,
    now: datetime | None = None,
) -> uuid.UUID | None:
    """Schedule ``job(**payload)`` to run once this transaction commits; returns the row's id.

    ``payload`` must be JSON (ids as strings). With ``dedupe_key``, a second row with the same
    key is not written (and None is returned): for side effects a re-run might produce twice.
    """
    spec = registry.get(job)
    moment = now or utcnow()
    message_id = uuid.uuid4()
    values = {
        "id": message_id,
        "job": job,
        "queue": spec.queue.value,
        "payload": payload,
        "dedupe_key": dedupe_key,
        "request_id": structlog.contextvars.get_contextvars().get("request_id"),
        "created_at": moment,
        "due_at": moment + delay if delay else moment,
        "dispatch_count": 0,
    }
    if dedupe_key is None:
        await session.execute(insert(OutboxMessage).values(**values))
    else:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(OutboxMessage)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(OutboxMessage.id)
        )
        if (await session.execute(statement)).scalar_one_or_none() is None:
            return None
    session.info[_WROTE_OUTBOX] = True
    return message_id


def wrote_outbox(session: AsyncSession) -> bool:
    """Whether this session's transaction wrote outbox rows (and forget it)."""
    return bool(session.info.pop(_WROTE_OUTBOX, False))
