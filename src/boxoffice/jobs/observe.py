"""Refreshes the job gauges when ``/metrics`` is scraped: what waits in each broker queue,
the outbox backlog, the dead letters."""

from __future__ import annotations

import asyncio

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import dq_name
from sqlalchemy import func, select

from boxoffice.db.engine import Database
from boxoffice.jobs import deadletters
from boxoffice.jobs.metrics import DEAD_LETTERS, OUTBOX_PENDING, QUEUE_DEPTH
from boxoffice.jobs.models import OutboxMessage
from boxoffice.jobs.registry import Queue
from boxoffice.observability.logging import get_logger

_log = get_logger("boxoffice.metrics")
TIMEOUT_SECONDS = 2.0


def _broker_depths(broker: dramatiq.Broker) -> dict[tuple[str, str], int]:
    depths: dict[tuple[str, str], int] = {}
    for queue in Queue:
        for state, name in (("ready", queue.value), ("delayed", dq_name(queue.value))):
            if isinstance(broker, RedisBroker):
                depths[queue.value, state] = int(broker.client.llen(f"{broker.namespace}:{name}"))
            elif isinstance(broker, StubBroker) and name in broker.queues:
                depths[queue.value, state] = broker.queues[name].qsize()
            else:
                depths[queue.value, state] = 0
    return depths


async def refresh_job_gauges(database: Database, broker: dramatiq.Broker) -> None:
    async def refresh() -> None:
        depths = await asyncio.to_thread(_broker_depths, broker)
        for (queue, state), depth in depths.items():
            QUEUE_DEPTH.labels(queue, state).set(depth)
        async with database.read_sessions() as session:
            pending = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.completed_at.is_(None))
            )
            OUTBOX_PENDING.set(int(pending or 0))
            DEAD_LETTERS.set(await deadletters.count(session))

    try:
        await asyncio.wait_for(refresh(), TIMEOUT_SECONDS)
    except Exception as exc:  # metrics must answer even when Redis or the database is down
        _log.warning("job gauges not refreshed", error=repr(exc))
