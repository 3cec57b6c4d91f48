"""Run due outbox jobs inline, in the caller's event loop: no broker, no retries. For tests
(and debugging) that want a job's effects now and its exceptions raised."""

from __future__ import annotations

from datetime import timedelta

from boxoffice.core.timestamps import utcnow
from boxoffice.jobs import registry
from boxoffice.jobs.context import JobContext
from boxoffice.jobs.relay import claim
from boxoffice.jobs.runtime import mark_completed


async def run_due(context: JobContext, *, rounds: int = 20, only: set[str] | None = None) -> int:
    """Run every due job (and the jobs those write) until none is left; returns how many ran.
    ``only``: just these jobs (other rows stay as they are)."""
    ran = 0
    for _ in range(rounds):
        rows = await claim(context.database, now=utcnow(), lease=timedelta(minutes=5), jobs=only)
        if not rows:
            return ran
        for row in rows:
            await registry.run(context, row.job, row.payload)
            await mark_completed(context, row.id)
            ran += 1
    raise RuntimeError(f"jobs still due after {rounds} rounds")
