"""Periodic jobs, fired by one active scheduler at a time.

Every tick the scheduler takes or renews a lease (a row in ``scheduler_leases``); only the
holder fires. Firing a job for a period inserts ``(job, slot)`` into ``periodic_runs`` and the
job's outbox row in one transaction: the primary key makes a second firing of the same period
impossible even if two schedulers ever both believed they held the lease, and the outbox makes
a firing impossible to lose.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.config import Settings
from boxoffice.core.timestamps import utcnow
from boxoffice.db.engine import Database
from boxoffice.jobs import outbox, registry
from boxoffice.jobs.models import PeriodicRun, SchedulerLease
from boxoffice.observability.logging import get_logger

_log = get_logger("boxoffice.scheduler")

LEASE_NAME = "scheduler"


@dataclass(frozen=True, slots=True)
class Periodic:
    job: str
    every: timedelta


def schedule(settings: Settings) -> list[Periodic]:
    sweep = settings.hold_sweep_interval_seconds
    periods: dict[str, float] = {
        "ticketing.expire_holds": sweep,
        "ticketing.waitlist_offers": sweep,
        "notifications.event_reminders": 300,
        "analytics.refresh_aggregates": 300,
        "maintenance.purge_idempotency_keys": 3600,
        "maintenance.purge_outbox": 86_400,
    }
    unknown = set(settings.scheduler_periods) - set(periods)
    if unknown:
        raise ValueError(f"BOXOFFICE_SCHEDULER_PERIODS: no periodic job named {sorted(unknown)}")
    periods.update(settings.scheduler_periods)
    missing = sorted(set(periods) - set(registry.jobs()))
    if missing:
        raise LookupError(f"periodic jobs not registered: {missing}")
    return [Periodic(job, timedelta(seconds=s)) for job, s in periods.items() if s > 0]


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def slot_of(moment: datetime, every: timedelta) -> int:
    return int(moment.timestamp() // every.total_seconds())


async def take_lease(
    session: AsyncSession, *, holder: str, now: datetime, lease_for: timedelta
) -> bool:
    """Become (or stay) the active scheduler unless another holds an unexpired lease."""
    renewed = await session.execute(
        update(SchedulerLease)
        .where(
            SchedulerLease.name == LEASE_NAME,
            (SchedulerLease.holder == holder) | (SchedulerLease.expires_at < now),
        )
        .values(holder=holder, expires_at=now + lease_for)
    )
    if renewed.rowcount:  # type: ignore[attr-defined]
        return True
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    created = await session.execute(
        dialect.insert(SchedulerLease)
        .values(name=LEASE_NAME, holder=holder, expires_at=now + lease_for)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return bool(created.rowcount)  # type: ignore[attr-defined]


async def tick(
    database: Database,
    periodics: list[Periodic],
    *,
    holder: str,
    now: datetime,
    lease_for: timedelta,
) -> list[str] | None:
    """One round: None when another scheduler is active, else the jobs fired."""
    fired: list[str] = []
    async with database.write_sessions() as session, session.begin():
        if not await take_lease(session, holder=holder, now=now, lease_for=lease_for):
            return None
        for periodic in periodics:
            slot = slot_of(now, periodic.every)
            dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
            inserted = await session.execute(
                dialect.insert(PeriodicRun)
                .values(job=periodic.job, slot=slot, fired_at=now, holder=holder)
                .on_conflict_do_nothing(index_elements=["job", "slot"])
            )
            if inserted.rowcount:  # type: ignore[attr-defined]
                await outbox.enqueue(session, periodic.job, {}, now=now)
                fired.append(periodic.job)
    return fired


async def release_lease(database: Database, *, holder: str) -> None:
    async with database.write_sessions() as session, session.begin():
        await session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == holder)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


async def run_scheduler(
    database: Database,
    settings: Settings,
    *,
    holder: str | None = None,
    on_fired: asyncio.Event | None = None,
) -> None:
    """Tick forever (cancel to stop; the lease is handed back so a standby takes over at once)."""
    me = holder or holder_name()
    periodics = schedule(settings)
    tick_seconds = settings.scheduler_tick_seconds
    lease_for = timedelta(seconds=max(5 * tick_seconds, 5.0))
    active: bool | None = None
    try:
        while True:
            try:
                fired = await tick(
                    database, periodics, holder=me, now=utcnow(), lease_for=lease_for
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be briefly unreachable: try again
                _log.error("scheduler tick failed", error=repr(exc))
                await asyncio.sleep(tick_seconds)
                continue
            if (fired is not None) != active:
                active = fired is not None
                _log.info("scheduler active" if active else "scheduler standing by", holder=me)
            if fired:
                _log.debug("periodic jobs fired", jobs=fired)
                if on_fired is not None:
                    on_fired.set()
            await asyncio.sleep(tick_seconds)
    finally:
        if active:
            try:
                await asyncio.shield(release_lease(database, holder=me))
            except Exception as exc:
                _log.warning("could not hand back the scheduler lease", error=repr(exc))
