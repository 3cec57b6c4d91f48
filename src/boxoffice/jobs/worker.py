"""The module ``boxoffice worker`` hands to Dramatiq's CLI: importing it builds the Redis
broker and its actors; each worker process then gets its job context and an outbox relay on
its event loop when it boots."""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from boxoffice.config import get_settings
from boxoffice.core.cache import Cache, MemoryCache, NullCache, RedisCache
from boxoffice.db.engine import create_database
from boxoffice.jobs.context import JobContext
from boxoffice.jobs.relay import Relay
from boxoffice.jobs.runtime import build_broker, current_context, set_context
from boxoffice.observability.logging import configure_logging, get_logger

_log = get_logger("boxoffice.worker")


class WorkerBoot(Middleware):
    """After Dramatiq's AsyncIO middleware started the loop thread: open the database and
    cache on it, start a relay there; close them at shutdown."""

    def __init__(self) -> None:
        self._relay_task: concurrent.futures.Future[None] | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        loop_thread = get_event_loop_thread()
        assert loop_thread is not None
        settings = get_settings()

        async def boot() -> None:
            from redis.asyncio import Redis  # noqa: PLC0415

            cache: Cache
            if not settings.cache_enabled:
                cache = NullCache()
            elif settings.redis_url:
                cache = RedisCache(Redis.from_url(settings.redis_url))
            else:
                cache = MemoryCache()
            set_context(JobContext(settings, create_database(settings), cache))

        loop_thread.run_coroutine(boot())
        relay = Relay.configured(current_context().database, broker, settings)
        self._relay_task = asyncio.run_coroutine_threadsafe(relay.run(), loop_thread.loop)
        _log.info("worker booted", broker=settings.broker.value)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        if self._relay_task is not None:
            self._relay_task.cancel()


def _build() -> dramatiq.Broker:
    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    broker = build_broker(settings)
    broker.add_middleware(WorkerBoot())
    return broker


broker = _build()
