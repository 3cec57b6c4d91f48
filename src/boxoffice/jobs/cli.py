"""``boxoffice worker``, ``boxoffice scheduler`` and ``boxoffice jobs dead …``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from boxoffice.config import JobsBroker, Settings
from boxoffice.core.timestamps import utcnow
from boxoffice.db.engine import Database
from boxoffice.jobs import deadletters
from boxoffice.jobs.models import DeadJob
from boxoffice.jobs.registry import Queue

T = TypeVar("T")

jobs_app = typer.Typer(help="Background jobs.", no_args_is_help=True)
dead_app = typer.Typer(help="Jobs that failed all their retries.", no_args_is_help=True)
jobs_app.add_typer(dead_app, name="dead")

EMBEDDED_HINT = (
    "needs BOXOFFICE_REDIS_URL: without Redis, `boxoffice serve` runs the jobs in-process"
)


def _require_redis(settings: Settings, command: str) -> None:
    if settings.broker is not JobsBroker.REDIS:
        typer.echo(f"boxoffice {command} {EMBEDDED_HINT}", err=True)
        raise typer.Exit(2)


def parse_queues(values: list[str] | None) -> list[str]:
    names = [name.strip() for value in values or [] for name in value.split(",") if name.strip()]
    known = {queue.value for queue in Queue}
    unknown = sorted(set(names) - known)
    if unknown:
        raise typer.BadParameter(
            f"unknown queue(s) {', '.join(unknown)}; the queues are {', '.join(known)}",
            param_hint="--queues",
        )
    return names


def run_worker(
    settings: Settings,
    *,
    queues: list[str],
    processes: int,
    threads: int,
    metrics_port: int | None,
) -> int:
    """Hand over to Dramatiq's CLI: it forks the worker processes, restarts nothing silently,
    and requeues in-memory messages on a clean shutdown."""
    _require_redis(settings, "worker")
    from dramatiq.cli import main, make_argument_parser  # noqa: PLC0415

    if metrics_port is not None:
        _serve_worker_metrics(metrics_port)
    args = ["boxoffice.jobs.worker", "--processes", str(processes), "--threads", str(threads)]
    if queues:
        args += ["--queues", *queues]
    parsed = make_argument_parser().parse_args(args)  # type: ignore[no-untyped-call]
    return int(main(parsed) or 0)  # type: ignore[no-untyped-call]


def _serve_worker_metrics(port: int) -> None:
    """Every worker process writes its samples to a shared directory; this parent process
    serves their sum on ``port``."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        # prometheus-client picks its storage when first imported: start again with the
        # directory in the environment from the first instruction on.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
            prefix="boxoffice-worker-metrics-"
        )
        os.execv(sys.executable, [sys.executable, "-m", "boxoffice", *sys.argv[1:]])  # noqa: S606
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server  # noqa: PLC0415

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    start_http_server(port, registry=registry)
    typer.echo(f"worker metrics on http://0.0.0.0:{port}/metrics", err=True)


async def _until_signalled(main: Awaitable[None]) -> None:
    task = asyncio.ensure_future(main)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def run_scheduler_process(settings: Settings) -> None:
    """The scheduler, plus an outbox relay so what it fires reaches Redis at once."""
    _require_redis(settings, "scheduler")
    from boxoffice.db.engine import create_database  # noqa: PLC0415
    from boxoffice.jobs.relay import Relay  # noqa: PLC0415
    from boxoffice.jobs.runtime import build_broker  # noqa: PLC0415
    from boxoffice.jobs.scheduler import holder_name, run_scheduler  # noqa: PLC0415
    from boxoffice.observability.logging import configure_logging  # noqa: PLC0415

    configure_logging(settings.log_level, json=settings.log_json)

    async def main() -> None:
        database = create_database(settings)
        broker = build_broker(settings, own_event_loop=False)
        relay = Relay.configured(database, broker, settings)
        fired = asyncio.Event()
        relay_task = asyncio.create_task(relay.run())

        async def wake_relay() -> None:
            while True:
                await fired.wait()
                fired.clear()
                relay.wake()

        waker = asyncio.create_task(wake_relay())
        try:
            await run_scheduler(database, settings, holder=holder_name(), on_fired=fired)
        finally:
            relay_task.cancel()
            waker.cancel()
            await database.dispose()

    typer.echo("scheduler started (one is active at a time; others stand by)", err=True)
    asyncio.run(_until_signalled(main()))


# ------------------------------------------------------------------------- dead letters


def _with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    from boxoffice.db.engine import create_database  # noqa: PLC0415

    async def run() -> T:
        database = create_database(settings)
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(run())


def _settings() -> Settings:
    from boxoffice.cli import _check_migrated, _settings  # noqa: PLC0415

    settings = _settings()
    _check_migrated(settings)
    return settings


@dead_app.command("list")
def dead_list(
    job: Annotated[str | None, typer.Option(help="Only this job")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    all_: Annotated[bool, typer.Option("--all", help="Include requeued entries")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """The newest dead jobs."""

    async def work(database: Database) -> list[DeadJob]:
        async with database.read_sessions() as session:
            return await deadletters.page(
                session, limit=limit, after=None, job=job, include_requeued=all_
            )

    rows = _with_database(_settings(), work)
    if as_json:
        for row in rows:
            typer.echo(json.dumps(_dead_document(row)))
        return
    table = Table("id", "job", "queue", "retries", "failed at (UTC)", "error", "requeued as")
    table.columns[0].no_wrap = True
    for row in rows:
        table.add_row(
            str(row.id),
            row.job,
            row.queue,
            str(row.retries),
            f"{row.failed_at:%Y-%m-%d %H:%M:%S}",
            row.error[:80],
            str(row.requeued_as or ""),
        )
    Console().print(table)
    typer.echo(f"{len(rows)} dead job(s)", err=True)


def _dead_document(row: DeadJob) -> dict[str, object]:
    return {
        "id": str(row.id),
        "job": row.job,
        "queue": row.queue,
        "payload": row.payload,
        "retries": row.retries,
        "failed_at": row.failed_at.isoformat(),
        "request_id": row.request_id,
        "requeued_at": row.requeued_at.isoformat() if row.requeued_at else None,
        "requeued_as": str(row.requeued_as) if row.requeued_as else None,
        "error": row.error,
    }


def _job_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise typer.BadParameter("not a job id", param_hint="JOB_ID") from None


@dead_app.command("show")
def dead_show(job_id: str) -> None:
    """One dead job: its arguments, error and traceback."""
    wanted = _job_id(job_id)

    async def work(database: Database) -> DeadJob | None:
        async with database.read_sessions() as session:
            return await session.get(DeadJob, wanted)

    row = _with_database(_settings(), work)
    if row is None:
        typer.echo("no dead job with this id", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(_dead_document(row), indent=2))
    typer.echo(row.traceback)


@dead_app.command("requeue")
def dead_requeue(
    job_ids: Annotated[list[str] | None, typer.Argument(help="Dead job ids")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every dead job not requeued yet")] = False,
    job: Annotated[str | None, typer.Option(help="With --all: only this job")] = None,
) -> None:
    """Run dead jobs again, with fresh retries."""
    if bool(job_ids) == all_:
        raise typer.BadParameter("give job ids, or --all")
    wanted = [_job_id(value) for value in job_ids or []]

    async def work(database: Database) -> list[tuple[uuid.UUID, uuid.UUID]]:
        requeued: list[tuple[uuid.UUID, uuid.UUID]] = []
        async with database.write_sessions() as session, session.begin():
            if all_:
                rows = await deadletters.page(session, limit=100_000, after=None, job=job)
            else:
                rows = [row for key in wanted if (row := await session.get(DeadJob, key))]
            now = utcnow()
            for row in rows:
                with contextlib.suppress(deadletters.AlreadyRequeued):
                    requeued.append((row.id, await deadletters.requeue(session, row, now=now)))
        return requeued

    requeued = _with_database(_settings(), work)
    for old, new in requeued:
        typer.echo(f"{old} requeued as {new}")
    typer.echo(f"{len(requeued)} job(s) requeued", err=True)
    if wanted and len(requeued) < len(wanted):
        typer.echo("some ids were unknown or requeued already", err=True)
        raise typer.Exit(1)


@dead_app.command("purge")
def dead_purge(
    job_ids: Annotated[list[str] | None, typer.Argument(help="Dead job ids")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every dead job")] = False,
    older_than_days: Annotated[
        float | None, typer.Option(min=0, help="Only those that failed this long ago")
    ] = None,
) -> None:
    """Delete dead jobs for good."""
    if bool(job_ids) == (all_ or older_than_days is not None):
        raise typer.BadParameter("give job ids, or --all / --older-than-days")
    wanted = [_job_id(value) for value in job_ids or []] or None
    before: datetime | None = (
        utcnow() - timedelta(days=older_than_days) if older_than_days is not None else None
    )

    async def work(database: Database) -> int:
        async with database.write_sessions() as session, session.begin():
            return await deadletters.purge(session, ids=wanted, before=before)

    typer.echo(f"{_with_database(_settings(), work)} dead job(s) purged", err=True)
