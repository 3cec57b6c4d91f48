"""The catalogue of jobs: each is an async function of a :class:`JobContext` and JSON keyword
arguments, with its queue and its retry policy. Dramatiq actors are declared from it."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from boxoffice.jobs.context import JobContext


class Queue(StrEnum):
    CRITICAL = "critical"  # payment results, ticket e-mails
    DEFAULT = "default"
    LOW = "low"  # bulk fan-out, analytics


# Dramatiq runs the waiting message with the lowest priority number first.
QUEUE_PRIORITY = {Queue.CRITICAL: 0, Queue.DEFAULT: 50, Queue.LOW: 100}

JobFunction = Callable[..., Awaitable[None]]


@dataclass(frozen=True, slots=True)
class JobSpec:
    name: str
    fn: JobFunction
    queue: Queue
    max_retries: int
    min_backoff_ms: int
    max_backoff_ms: int
    time_limit_ms: int


_JOBS: dict[str, JobSpec] = {}
# Modules whose import registers jobs; imported the first time the catalogue is read.
_JOB_MODULES = (
    "boxoffice.jobs.builtin",
    "boxoffice.notifications.jobs",
    "boxoffice.payments.jobs",
    "boxoffice.analytics.jobs",
)
_loaded = False


def job(
    name: str,
    *,
    queue: Queue,
    max_retries: int = 8,
    min_backoff_ms: int = 1_000,
    max_backoff_ms: int = 10 * 60_000,
    time_limit_ms: int = 5 * 60_000,
) -> Callable[[JobFunction], JobFunction]:
    """Register ``fn(ctx, **payload)`` as the job ``name``. Retries back off exponentially from
    ``min_backoff_ms`` to ``max_backoff_ms`` with jitter (Dramatiq's Retries middleware)."""

    def register(fn: JobFunction) -> JobFunction:
        if name in _JOBS and _JOBS[name].fn is not fn:
            raise ValueError(f"job {name!r} registered twice")
        _JOBS[name] = JobSpec(
            name, fn, queue, max_retries, min_backoff_ms, max_backoff_ms, time_limit_ms
        )
        return fn

    return register


def jobs() -> dict[str, JobSpec]:
    global _loaded  # noqa: PLW0603 - a load-once guard
    if not _loaded:
        for module in _JOB_MODULES:
            importlib.import_module(module)
        _loaded = True
    return _JOBS


def get(name: str) -> JobSpec:
    try:
        return jobs()[name]
    except KeyError:
        raise LookupError(f"no job named {name!r}") from None


async def run(ctx: JobContext, name: str, payload: dict[str, Any]) -> None:
    await get(name).fn(ctx, **payload)
