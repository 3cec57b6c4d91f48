"""The periodic refresh of the sales aggregates (fired every 5 minutes by the scheduler)."""

from __future__ import annotations

from boxoffice.analytics import aggregates
from boxoffice.core.timestamps import utcnow
from boxoffice.jobs.context import JobContext
from boxoffice.jobs.registry import Queue, job
from boxoffice.observability.logging import get_logger

_log = get_logger("boxoffice.analytics")


@job("analytics.refresh_aggregates", queue=Queue.LOW, max_retries=2)
async def refresh_aggregates(ctx: JobContext, full: bool = False) -> None:
    """Recompute the events changed since the last refresh (with a margin), or every event
    when ``full`` or never refreshed before. One transaction: a failed run changes nothing."""
    async with ctx.database.write_sessions() as session, session.begin():
        last = await aggregates.lock_state(session)
        now = utcnow()
        since = None if full or last is None else last - aggregates.LOOKBACK
        written = await aggregates.refresh(session, since=since, now=now)
    _log.info("sales aggregates refreshed", full=since is None, cells_written=written)
