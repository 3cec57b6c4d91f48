"""The periodic sweep: expired holds give their seats back, waiting lists get offers, old
idempotency keys go.

It runs inside ``boxoffice serve`` (every worker process; the steps are safe to run
concurrently: expiry claims orders with ``SKIP LOCKED`` and moves each with a conditional
UPDATE) until the job system exists, which will run the same :func:`sweep_once`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from boxoffice.core.cache import Cache
from boxoffice.core.idempotency import purge_expired
from boxoffice.core.timestamps import utcnow
from boxoffice.db.engine import Database
from boxoffice.db.session import take_changes
from boxoffice.observability.logging import get_logger
from boxoffice.ticketing import orders, waitlist

_log = get_logger("boxoffice.sweep")
BATCH = 500


@dataclass(frozen=True, slots=True)
class SweepResult:
    expired_orders: int
    offers: int
    purged_keys: int


async def sweep_once(
    database: Database, cache: Cache, *, now: datetime, offer_for: timedelta
) -> SweepResult:
    expired = 0
    while True:
        async with database.write_sessions() as session, session.begin():
            released = await orders.release_expired(session, now=now, limit=BATCH)
            topics = take_changes(session)
        await _bump(cache, topics)
        expired += len(released)
        if len(released) < BATCH:
            break
    async with database.write_sessions() as session, session.begin():
        ticket_type_ids = await waitlist.ticket_types_with_waiting(session)
        offers = await waitlist.offer_seats(
            session, ticket_type_ids=ticket_type_ids, now=now, offer_for=offer_for
        )
        topics = take_changes(session)
    await _bump(cache, topics)
    async with database.write_sessions() as session, session.begin():
        purged = await purge_expired(session, now=now)
    return SweepResult(expired, len(offers), purged)


async def _bump(cache: Cache, topics: set[str]) -> None:
    if topics:
        try:
            await cache.bump(*sorted(topics))
        except Exception as exc:
            _log.warning("cache invalidation failed", topics=sorted(topics), error=repr(exc))


async def run_periodically(
    database: Database, cache: Cache, *, interval: float, offer_for: timedelta
) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            result = await sweep_once(database, cache, now=utcnow(), offer_for=offer_for)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the next round tries again
            _log.error("sweep failed", error=repr(exc))
            continue
        if result.expired_orders or result.offers or result.purged_keys:
            _log.info(
                "sweep",
                expired_orders=result.expired_orders,
                offers=result.offers,
                purged_keys=result.purged_keys,
            )


@contextlib.asynccontextmanager
async def sweeper(
    database: Database, cache: Cache, *, interval: float, offer_for: timedelta
) -> AsyncIterator[None]:
    if interval <= 0:
        yield
        return
    task = asyncio.create_task(
        run_periodically(database, cache, interval=interval, offer_for=offer_for)
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
