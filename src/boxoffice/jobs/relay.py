"""The outbox relay: hands due outbox rows to the broker.

A row is claimed by moving its ``due_at`` a lease ahead (``SKIP LOCKED`` on PostgreSQL, so
any number of relays share the work); the worker marks it completed when the job has run. If
the broker loses a message, or a relay dies after enqueueing, the lease runs out and the row is
handed over again. Rows that could not be enqueued (the broker is down) are due again shortly.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import dramatiq
from dramatiq import Message
from sqlalchemy import select, update

from boxoffice.config import Settings
from boxoffice.core.timestamps import utcnow
from boxoffice.db.engine import Database
from boxoffice.jobs import registry
from boxoffice.jobs.models import OutboxMessage
from boxoffice.observability.logging import get_logger

_log = get_logger("boxoffice.relay")

BATCH = 500
RETRY_AFTER_BROKER_ERROR = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: uuid.UUID
    job: str
    queue: str
    payload: dict[str, Any]
    request_id: str | None


def message_for(row: Claimed) -> Message[Any]:
    spec = registry.get(row.job)
    return Message(
        queue_name=spec.queue.value,
        actor_name=spec.name,
        args=(),
        kwargs={"outbox_id": str(row.id), "request_id": row.request_id, "payload": row.payload},
        options={},
    )


async def claim(
    database: Database,
    *,
    now: datetime,
    lease: timedelta,
    limit: int = BATCH,
    jobs: Collection[str] | None = None,
) -> list[Claimed]:
    """Claim up to ``limit`` due rows (of these ``jobs`` only, if given)."""
    async with database.write_sessions() as session, session.begin():
        due = (
            select(OutboxMessage.id)
            .where(OutboxMessage.completed_at.is_(None), OutboxMessage.due_at <= now)
            .order_by(OutboxMessage.due_at)
            .limit(limit)
        )
        if jobs is not None:
            due = due.where(OutboxMessage.job.in_(sorted(jobs)))
        if session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        rows = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(due.scalar_subquery()))
            .values(
                due_at=now + lease,
                dispatched_at=now,
                dispatch_count=OutboxMessage.dispatch_count + 1,
            )
            .returning(
                OutboxMessage.id,
                OutboxMessage.job,
                OutboxMessage.queue,
                OutboxMessage.payload,
                OutboxMessage.request_id,
            )
            .execution_options(synchronize_session=False)
        )
        return [Claimed(*row) for row in rows.all()]


async def postpone(database: Database, ids: list[uuid.UUID], *, until: datetime) -> None:
    async with database.write_sessions() as session, session.begin():
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.completed_at.is_(None))
            .values(due_at=until, dispatch_count=OutboxMessage.dispatch_count - 1)
            .execution_options(synchronize_session=False)
        )


def _enqueue_all(broker: dramatiq.Broker, rows: list[Claimed]) -> int:
    """Enqueue in order; stop at the first broker error. Returns how many went."""
    for sent, row in enumerate(rows):
        try:
            broker.enqueue(message_for(row))
        except Exception as exc:
            _log.warning("broker refused a message", job=row.job, error=repr(exc))
            return sent
    return len(rows)


async def relay_once(database: Database, broker: dramatiq.Broker, *, lease: timedelta) -> int:
    """Hand every due row to the broker. Returns how many went; raises BrokerUnavailable when
    the broker refused (those rows are due again in a moment)."""
    total = 0
    while True:
        rows = await claim(database, now=utcnow(), lease=lease)
        if not rows:
            return total
        sent = await asyncio.to_thread(_enqueue_all, broker, rows)
        total += sent
        if sent < len(rows):
            unsent = [row.id for row in rows[sent:]]
            await postpone(database, unsent, until=utcnow() + RETRY_AFTER_BROKER_ERROR)
            raise BrokerUnavailable(len(unsent))
        if len(rows) < BATCH:
            return total


class BrokerUnavailable(Exception):
    def __init__(self, unsent: int) -> None:
        super().__init__(f"{unsent} outbox messages not handed to the broker")
        self.unsent = unsent


class Relay:
    """A relay loop: woken right after a commit that wrote outbox rows, and every
    ``interval`` seconds for rows written elsewhere or due again."""

    def __init__(
        self, database: Database, broker: dramatiq.Broker, *, interval: float, lease: timedelta
    ) -> None:
        self.database = database
        self.broker = broker
        self.interval = interval
        self.lease = lease
        self._wake = asyncio.Event()

    @classmethod
    def configured(cls, database: Database, broker: dramatiq.Broker, settings: Settings) -> Relay:
        return cls(
            database,
            broker,
            interval=settings.jobs_relay_interval_seconds,
            lease=timedelta(seconds=settings.jobs_lease_seconds),
        )

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval + backoff)
            self._wake.clear()
            try:
                await relay_once(self.database, self.broker, lease=self.lease)
            except asyncio.CancelledError:
                raise
            except BrokerUnavailable as exc:
                if not backoff:
                    _log.warning("broker unavailable; outbox rows wait", unsent=exc.unsent)
                backoff = min(max(backoff * 2, 0.25), 5.0)
                continue
            except Exception as exc:
                if not backoff:
                    _log.error("outbox relay failed", error=repr(exc))
                backoff = min(max(backoff * 2, 0.25), 5.0)
                continue
            if backoff:
                _log.info("outbox relay recovered")
            backoff = 0.0
