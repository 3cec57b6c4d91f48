"""Dramatiq wiring: the broker, one actor per registered job, and the middleware that ties a
message back to its outbox row (completion, retries, dead letters, logs, metrics)."""

from __future__ import annotations

import asyncio
import time
import traceback
import uuid
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, TypeVar

import dramatiq
import structlog
from dramatiq.asyncio import EventLoopThread, get_event_loop_thread
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware
from sqlalchemy import update

from boxoffice.config import JobsBroker, Settings
from boxoffice.core.timestamps import utcnow
from boxoffice.jobs import registry
from boxoffice.jobs.context import JobContext
from boxoffice.jobs.metrics import JOB_DURATION, JOB_FAILURES
from boxoffice.jobs.models import DeadJob, OutboxMessage
from boxoffice.jobs.registry import QUEUE_PRIORITY, JobSpec
from boxoffice.observability.logging import get_logger

_log = get_logger("boxoffice.jobs")
T = TypeVar("T")

# The process's job context: set when a worker boots (or by `serve` for its in-process worker).
_context: JobContext | None = None


def set_context(context: JobContext | None) -> None:
    global _context  # noqa: PLW0603 - one per process, like Dramatiq's own broker
    _context = context


def current_context() -> JobContext:
    if _context is None:
        raise RuntimeError("no job context: the worker has not booted")
    return _context


async def mark_completed(context: JobContext, outbox_id: uuid.UUID) -> None:
    async with context.database.write_sessions() as session, session.begin():
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id, OutboxMessage.completed_at.is_(None))
            .values(completed_at=utcnow())
        )


async def extend_lease(context: JobContext, outbox_id: uuid.UUID, *, by: timedelta) -> None:
    """A retry is scheduled: keep the relay from handing the row over again meanwhile."""
    async with context.database.write_sessions() as session, session.begin():
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id, OutboxMessage.completed_at.is_(None))
            .values(due_at=utcnow() + by)
        )


async def bury(
    context: JobContext,
    *,
    outbox_id: uuid.UUID,
    spec: JobSpec,
    payload: dict[str, Any],
    request_id: str | None,
    retries: int,
    error: str,
    trace: str,
) -> None:
    """Move an exhausted job to the dead letters, in one transaction with its outbox row."""
    now = utcnow()
    async with context.database.write_sessions() as session, session.begin():
        completed = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id, OutboxMessage.completed_at.is_(None))
            .values(completed_at=now)
        )
        if not completed.rowcount:  # type: ignore[attr-defined]
            return  # a redelivered copy already completed or was buried
        session.add(
            DeadJob(
                outbox_id=outbox_id,
                job=spec.name,
                queue=spec.queue.value,
                payload=payload,
                request_id=request_id,
                retries=retries,
                error=error[:4000],
                traceback=trace[-20_000:],
                failed_at=now,
            )
        )


def _actor_function(spec: JobSpec) -> Any:
    async def run(outbox_id: str, request_id: str | None, payload: dict[str, Any]) -> None:
        context = current_context()
        with structlog.contextvars.bound_contextvars(
            request_id=request_id, job=spec.name, outbox_id=outbox_id
        ):
            await spec.fn(context, **payload)
            await mark_completed(context, uuid.UUID(outbox_id))

    run.__name__ = spec.name.replace(".", "_")
    run.__qualname__ = run.__name__
    run.__module__ = spec.fn.__module__
    return run


def run_on_loop(coro: Awaitable[T]) -> T:
    """From a worker thread, run a coroutine on the process's job event loop."""
    loop_thread = get_event_loop_thread()
    if loop_thread is None:
        raise RuntimeError("no event loop thread: AsyncIO middleware missing")
    return loop_thread.run_coroutine(coro)


class OutboxMiddleware(Middleware):
    """Binds each message to its outbox row: logs carry the request id that caused the job;
    a retry pushes the row's lease past its backoff; an exhausted job goes to the dead
    letters; durations and failures are measured."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        self._started[message.message_id] = time.perf_counter()

    def after_skip_message(self, broker: dramatiq.Broker, message: Any) -> None:
        self._started.pop(message.message_id, None)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        started = self._started.pop(message.message_id, None)
        spec = registry.get(message.actor_name)
        outcome = "ok" if exception is None else ("dead" if message.failed else "retry")
        if started is not None:
            JOB_DURATION.labels(spec.name, spec.queue.value, outcome).observe(
                time.perf_counter() - started
            )
        if exception is None:
            return
        JOB_FAILURES.labels(spec.name, spec.queue.value).inc()
        kwargs = message.kwargs
        outbox_id = uuid.UUID(kwargs["outbox_id"])
        log = _log.bind(
            job=spec.name, outbox_id=str(outbox_id), request_id=kwargs.get("request_id")
        )
        # Retries has counted this failure: the attempts so far, the first one included.
        attempts = int(message.options.get("retries", 1))
        context = current_context()
        try:
            if message.failed:
                log.error("job failed for good; moved to the dead letters", error=repr(exception))
                run_on_loop(
                    bury(
                        context,
                        outbox_id=outbox_id,
                        spec=spec,
                        payload=kwargs["payload"],
                        request_id=kwargs.get("request_id"),
                        retries=attempts - 1,
                        error=f"{type(exception).__name__}: {exception}",
                        trace=message.options.get("traceback")
                        or "".join(traceback.format_exception(exception)),
                    )
                )
                if isinstance(broker, StubBroker):
                    broker.dead_letters_by_queue.clear()  # the database keeps them
            else:
                log.warning("job failed; will retry", error=repr(exception), attempts=attempts)
                settings = context.settings
                longest_backoff = timedelta(
                    milliseconds=spec.max_backoff_ms * settings.jobs_backoff_scale
                )
                lease = timedelta(seconds=settings.jobs_lease_seconds)
                run_on_loop(extend_lease(context, outbox_id, by=longest_backoff + lease))
        except Exception as exc:  # the lease runs out and the row is delivered again
            log.error("could not record the job's failure", error=repr(exc))


class LoopThread(EventLoopThread):
    """Dramatiq's event-loop thread, but an already running loop (``serve``'s own): the
    in-process worker's async jobs share the app's database pool and cache."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(_log)
        self.loop.close()
        self.loop = loop

    def start(self, *, timeout: float | None = None) -> None:  # the loop already runs
        return None

    def stop(self) -> None:  # the app owns the loop
        return None


def build_broker(settings: Settings, *, own_event_loop: bool = True) -> dramatiq.Broker:
    """The broker with our middleware and one actor per job, set as Dramatiq's global.

    ``own_event_loop``: Dramatiq's AsyncIO middleware starts a loop thread for async actors
    (worker processes); without it the caller installs a :class:`LoopThread` (``serve``).
    """
    # Dramatiq runs "after" hooks in reverse order: first in the list, ours sees a message
    # after Retries has decided whether it is retried or dead.
    middleware: list[Middleware] = [OutboxMiddleware()]
    middleware += [m() for m in dramatiq.middleware.default_middleware]
    if own_event_loop:
        middleware.append(dramatiq.middleware.AsyncIO())
    broker: dramatiq.Broker
    if settings.broker is JobsBroker.REDIS:
        broker = RedisBroker(  # type: ignore[no-untyped-call]
            url=settings.redis_url,
            middleware=middleware,
            namespace="boxoffice",
            # A worker that stops heartbeating (killed) has its unacked messages requeued by
            # the next maintenance run after this long; maintenance runs on ~5 % of commands.
            heartbeat_timeout=int(settings.jobs_heartbeat_timeout_seconds * 1000),
            maintenance_chance=50_000,
            # Our dead letters live in the database; Redis's copy only needs to outlive a look.
            dead_message_ttl=3_600_000,
        )
    else:
        broker = StubBroker(middleware=middleware)
    scale = settings.jobs_backoff_scale
    for spec in registry.jobs().values():
        dramatiq.Actor(
            _actor_function(spec),
            broker=broker,
            actor_name=spec.name,
            queue_name=spec.queue.value,
            priority=QUEUE_PRIORITY[spec.queue],
            options={
                "max_retries": spec.max_retries,
                "min_backoff": max(1, int(spec.min_backoff_ms * scale)),
                "max_backoff": max(1, int(spec.max_backoff_ms * scale)),
                "time_limit": spec.time_limit_ms,
            },
        )
    dramatiq.set_broker(broker)
    return broker
