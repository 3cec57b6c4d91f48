"""The platform's own periodic jobs: hold expiry, waiting-list offers, housekeeping."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from boxoffice.core.timestamps import utcnow
from boxoffice.jobs.context import JobContext
from boxoffice.jobs.models import OutboxMessage, PeriodicRun
from boxoffice.jobs.registry import Queue, job
from boxoffice.observability.logging import get_logger
from boxoffice.ticketing import sweep

_log = get_logger("boxoffice.jobs")

OUTBOX_RETENTION = timedelta(days=7)


@job("ticketing.expire_holds", queue=Queue.CRITICAL, max_retries=2, time_limit_ms=120_000)
async def expire_holds(ctx: JobContext) -> None:
    expired = await sweep.expire_holds(ctx.database, ctx.cache, now=utcnow())
    if expired:
        _log.info("holds expired", orders=expired)


@job("ticketing.waitlist_offers", queue=Queue.DEFAULT, max_retries=2, time_limit_ms=120_000)
async def waitlist_offers(ctx: JobContext) -> None:
    offers = await sweep.offer_waitlist_seats(
        ctx.database,
        ctx.cache,
        now=utcnow(),
        offer_for=timedelta(seconds=ctx.settings.waitlist_offer_seconds),
    )
    if offers:
        _log.info("waiting-list offers made", offers=offers)


@job("maintenance.purge_idempotency_keys", queue=Queue.LOW, max_retries=2)
async def purge_idempotency_keys(ctx: JobContext) -> None:
    purged = await sweep.purge_idempotency_keys(ctx.database, now=utcnow())
    if purged:
        _log.info("idempotency keys purged", keys=purged)


@job("maintenance.purge_outbox", queue=Queue.LOW, max_retries=2)
async def purge_outbox(ctx: JobContext) -> None:
    """Completed side effects, old periodic firings and lapsed password-reset requests are
    kept a week for inspection."""
    from boxoffice.accounts.models import PasswordReset  # noqa: PLC0415

    before = utcnow() - OUTBOX_RETENTION
    async with ctx.database.write_sessions() as session, session.begin():
        outbox = await session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.completed_at.is_not(None), OutboxMessage.completed_at < before
            )
        )
        runs = await session.execute(delete(PeriodicRun).where(PeriodicRun.fired_at < before))
        resets = await session.execute(
            delete(PasswordReset).where(PasswordReset.expires_at < before)
        )
    _log.info(
        "outbox purged",
        password_resets=resets.rowcount,  # type: ignore[attr-defined]
        messages=outbox.rowcount,  # type: ignore[attr-defined]
        periodic_runs=runs.rowcount,  # type: ignore[attr-defined]
    )
