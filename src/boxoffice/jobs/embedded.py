"""Jobs inside ``boxoffice serve``: the outbox relay always (woken by every commit that wrote
outbox rows), and with ``BOXOFFICE_JOBS_IN_PROCESS`` (the embedded default) a Dramatiq worker
and the scheduler too, so nothing else needs starting."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import dramatiq
from dramatiq.asyncio import set_event_loop_thread

from boxoffice.config import JobsBroker, Settings
from boxoffice.core.cache import Cache
from boxoffice.db.engine import Database
from boxoffice.jobs.context import JobContext
from boxoffice.jobs.relay import Relay
from boxoffice.jobs.runtime import LoopThread, build_broker, set_context
from boxoffice.jobs.scheduler import run_scheduler
from boxoffice.observability.logging import get_logger

_log = get_logger("boxoffice.jobs")


@dataclass(slots=True)
class JobRuntime:
    broker: dramatiq.Broker
    relay: Relay
    worker: dramatiq.Worker | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def wake_relay(self) -> None:
        self.relay.wake()


@contextlib.asynccontextmanager
async def job_runtime(
    settings: Settings, database: Database, cache: Cache
) -> AsyncIterator[JobRuntime]:
    in_process = settings.runs_jobs_in_process
    broker = build_broker(settings, own_event_loop=False)
    relay = Relay.configured(database, broker, settings)
    runtime = JobRuntime(broker, relay)
    # Nothing consumes an embedded broker without the in-process worker: a relay would only
    # lease rows away from whoever runs them (`jobs.inline.run_due` in tests).
    if in_process or settings.broker is not JobsBroker.EMBEDDED:
        runtime.tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
    if in_process:
        set_event_loop_thread(LoopThread(asyncio.get_running_loop()))
        set_context(JobContext(settings, database, cache))
        runtime.worker = dramatiq.Worker(
            broker, worker_threads=settings.jobs_in_process_threads, worker_timeout=250
        )
        runtime.worker.start()
        runtime.tasks.append(
            asyncio.create_task(run_scheduler(database, settings), name="scheduler")
        )
        _log.info("in-process job worker and scheduler started", broker=settings.broker.value)
    try:
        yield runtime
    finally:
        for task in runtime.tasks:
            task.cancel()
        for task in runtime.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if runtime.worker is not None:
            # Worker threads wait on this loop: stop them from another thread.
            await asyncio.to_thread(runtime.worker.stop, 10_000)
            set_context(None)
            set_event_loop_thread(None)
