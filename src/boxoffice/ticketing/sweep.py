"""The periodic sweep: expired holds give their seats back, waiting lists get offers, old
idempotency keys go.

The scheduler fires each step as a periodic job (``jobs/builtin.py``). The steps are safe to
run concurrently: expiry claims orders with ``SKIP LOCKED`` and moves each with a conditional
UPDATE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from boxoffice.core.cache import Cache
from boxoffice.core.idempotency import purge_expired
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


async def expire_holds(database: Database, cache: Cache, *, now: datetime) -> int:
    """Give back the seats of every order whose hold lapsed, in batches."""
    expired = 0
    while True:
        async with database.write_sessions() as session, session.begin():
            released = await orders.release_expired(session, now=now, limit=BATCH)
            topics = take_changes(session)
        await _bump(cache, topics)
        expired += len(released)
        if len(released) < BATCH:
            return expired


async def offer_waitlist_seats(
    database: Database, cache: Cache, *, now: datetime, offer_for: timedelta
) -> int:
    """Offer free seats to the first in line of every waiting list (lapsed offers included)."""
    async with database.write_sessions() as session, session.begin():
        ticket_type_ids = await waitlist.ticket_types_with_waiting(session)
        offers = await waitlist.offer_seats(
            session, ticket_type_ids=ticket_type_ids, now=now, offer_for=offer_for
        )
        topics = take_changes(session)
    await _bump(cache, topics)
    return len(offers)


async def purge_idempotency_keys(database: Database, *, now: datetime) -> int:
    async with database.write_sessions() as session, session.begin():
        return await purge_expired(session, now=now)


async def sweep_once(
    database: Database, cache: Cache, *, now: datetime, offer_for: timedelta
) -> SweepResult:
    """All three steps at once (the scheduler runs them as separate periodic jobs)."""
    expired = await expire_holds(database, cache, now=now)
    offers = await offer_waitlist_seats(database, cache, now=now, offer_for=offer_for)
    purged = await purge_idempotency_keys(database, now=now)
    return SweepResult(expired, offers, purged)


async def _bump(cache: Cache, topics: set[str]) -> None:
    if topics:
        try:
            await cache.bump(*sorted(topics))
        except Exception as exc:
            _log.warning("cache invalidation failed", topics=sorted(topics), error=repr(exc))
