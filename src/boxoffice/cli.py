"""The ``boxoffice`` command: serve, worker, scheduler, jobs, migrate, seed, createadmin."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from typing import Annotated

import typer

from boxoffice.config import ConfigurationError, Settings, load_settings

app = typer.Typer(help="Boxoffice: event management and ticketing.", no_args_is_help=True)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from None


def _check_migrated(settings: Settings) -> None:
    from boxoffice.db.engine import create_engine  # noqa: PLC0415 - keep `--help` fast
    from boxoffice.db.migrate import DatabaseNotMigrated, ensure_migrated  # noqa: PLC0415

    async def check() -> None:
        engine = create_engine(settings.database_url, settings, for_writes=False)
        try:
            await ensure_migrated(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.run(check())
    except DatabaseNotMigrated as exc:
        typer.echo(f"refusing to serve: {exc}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"cannot reach the database: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: BOXOFFICE_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Default: BOXOFFICE_PORT")] = None,
    workers: Annotated[int | None, typer.Option(help="Default: BOXOFFICE_WORKERS")] = None,
) -> None:
    """Serve the API with granian (refuses an unmigrated database)."""
    from granian import Granian  # noqa: PLC0415
    from granian.constants import Interfaces  # noqa: PLC0415

    settings = _settings()
    _check_migrated(settings)
    worker_count = workers or settings.workers
    if worker_count > 1 and not settings.redis_url and settings.cache_enabled:
        # An in-process cache cannot see another process's invalidations.
        os.environ["BOXOFFICE_CACHE_ENABLED"] = "false"
        typer.echo("several workers without BOXOFFICE_REDIS_URL: response cache off", err=True)
    if worker_count > 1:
        metrics_dir = settings.var_dir / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir.resolve())
    bind_host, bind_port = host or settings.host, port or settings.port
    typer.echo(f"Boxoffice on http://{bind_host}:{bind_port} (API docs at /docs)", err=True)
    Granian(
        "boxoffice.app:create_app",
        factory=True,
        interface=Interfaces.ASGI,
        address=bind_host,
        port=bind_port,
        workers=worker_count,
        log_level=settings.log_level,  # type: ignore[arg-type]
        backlog=2048,
    ).serve()


@app.command()
def migrate(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Bring the database schema up to date."""
    from boxoffice.db.migrate import upgrade  # noqa: PLC0415

    settings = _settings()
    upgrade(settings.database_url, revision)
    typer.echo(f"database migrated to {revision}", err=True)
    if revision == "head":
        _run_search_rebuild(settings, only_if_required=True, force=False)


search_app = typer.Typer(help="The search index.", no_args_is_help=True)
app.add_typer(search_app, name="search")


def _add_jobs_commands() -> None:
    from boxoffice.jobs.cli import jobs_app  # noqa: PLC0415

    app.add_typer(jobs_app, name="jobs")


_add_jobs_commands()


def _run_search_rebuild(settings: Settings, *, only_if_required: bool, force: bool) -> None:
    from boxoffice.core.progress import progress_bar  # noqa: PLC0415
    from boxoffice.db.engine import create_database  # noqa: PLC0415
    from boxoffice.search.rebuild import (  # noqa: PLC0415
        RebuildInProgress,
        rebuild_if_required,
        rebuild_index,
    )

    async def run() -> int | None:
        database = create_database(settings)
        try:
            with progress_bar("indexing events") as progress:
                if only_if_required:
                    ran = await rebuild_if_required(database, progress=progress)
                    indexed = -1 if ran else None
                else:
                    indexed = await rebuild_index(database, progress=progress, force=force)
        finally:
            await database.dispose()
        if indexed is not None:
            await _forget_cached_listings(settings)
        return indexed

    try:
        indexed = asyncio.run(run())
    except RebuildInProgress as exc:
        typer.echo(f"search reindex: {exc}", err=True)
        raise typer.Exit(1) from None
    if indexed is not None and indexed >= 0:
        typer.echo(f"search index rebuilt: {indexed} events", err=True)
    elif indexed is not None:
        typer.echo("search index built", err=True)


async def _forget_cached_listings(settings: Settings) -> None:
    """Cached listings were computed from the old copy; processes' in-memory caches expire by
    their TTL, the shared Redis cache is invalidated now."""
    if not (settings.redis_url and settings.cache_enabled):
        return
    from redis.asyncio import Redis  # noqa: PLC0415

    from boxoffice.core.cache import RedisCache  # noqa: PLC0415
    from boxoffice.events.caching import CATALOG  # noqa: PLC0415

    redis = Redis.from_url(settings.redis_url)
    try:
        await RedisCache(redis).bump(CATALOG)
    finally:
        await redis.aclose()


@search_app.command("reindex")
def search_reindex(
    force: Annotated[
        bool, typer.Option("--force", help="Take over a rebuild whose process died")
    ] = False,
) -> None:
    """Rebuild the search index into its spare copy, then switch to it. Searches keep
    answering from the current copy meanwhile, and changes made during the rebuild reach both."""
    settings = _settings()
    _check_migrated(settings)
    _run_search_rebuild(settings, only_if_required=False, force=force)


DEMO_EVENTS = 240
MAX_DEMO_EVENTS = 100_000


@app.command()
def seed(
    demo: Annotated[
        bool, typer.Option("--demo", help="Load the demo organizations and events")
    ] = False,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Only when the database has no events yet (--demo)")
    ] = False,
    events: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"Events to create: demo events (default {DEMO_EVENTS}, at most "
            f"{MAX_DEMO_EVENTS:,}) with --demo, synthetic events in bulk without it",
        ),
    ] = None,
    random_seed: Annotated[
        int, typer.Option("--seed", help="Random seed of the bulk events")
    ] = 2026,
) -> None:
    """Load demo data (safe to run twice: existing demo organizations are left alone), or with
    --events N alone, N synthetic published events in cities worldwide (fast bulk load)."""
    if not demo:
        if events is None:
            typer.echo("nothing to do: pass --demo, or --events N for bulk events", err=True)
            raise typer.Exit(2)
        if if_empty:
            raise typer.BadParameter("only works with --demo", param_hint="--if-empty")
        _seed_bulk(events, random_seed)
        return
    from boxoffice.seeding.demo import seed_demo  # noqa: PLC0415

    if events is not None and events > MAX_DEMO_EVENTS:
        raise typer.BadParameter(f"at most {MAX_DEMO_EVENTS} with --demo", param_hint="--events")
    settings = _settings()
    _check_migrated(settings)
    created = asyncio.run(
        seed_demo(settings, event_count=events or DEMO_EVENTS, only_if_empty=if_empty)
    )
    typer.echo(f"demo data: {created} events created", err=True)


def _seed_bulk(events: int, random_seed: int) -> None:
    from time import perf_counter  # noqa: PLC0415

    from boxoffice.search.rebuild import RebuildInProgress  # noqa: PLC0415
    from boxoffice.seeding.bulk import seed_bulk  # noqa: PLC0415

    settings = _settings()
    _check_migrated(settings)
    started = perf_counter()
    try:
        created = asyncio.run(seed_bulk(settings, event_count=events, seed=random_seed))
    except RebuildInProgress as exc:
        typer.echo(f"events loaded, but the search index was not rebuilt: {exc}", err=True)
        raise typer.Exit(1) from None
    elapsed = perf_counter() - started
    typer.echo(
        f"bulk data: {created} events created in {elapsed:.1f} s "
        f"({created / elapsed:,.0f} events/s)",
        err=True,
    )


@app.command()
def worker(
    queues: Annotated[
        list[str] | None,
        typer.Option(
            "--queues",
            "-Q",
            help="Queues to consume (critical, default, low; repeat or comma-separate). "
            "Default: all three, critical first",
        ),
    ] = None,
    processes: Annotated[
        int, typer.Option(min=1, help="Worker processes (default: CPU count)")
    ] = os.cpu_count() or 1,
    threads: Annotated[int, typer.Option(min=1, help="Jobs run at once per process")] = 8,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve the workers' Prometheus metrics on this port")
    ] = None,
) -> None:
    """Run job workers on Redis (any number, on any number of machines)."""
    from boxoffice.jobs.cli import parse_queues, run_worker  # noqa: PLC0415

    settings = _settings()
    _check_migrated(settings)
    names = parse_queues(queues)
    raise typer.Exit(
        run_worker(
            settings,
            queues=names,
            processes=processes,
            threads=threads,
            metrics_port=metrics_port,
        )
    )


@app.command()
def scheduler() -> None:
    """Fire the periodic jobs (run one or more: one is active, the others stand by)."""
    from boxoffice.jobs.cli import run_scheduler_process  # noqa: PLC0415

    settings = _settings()
    _check_migrated(settings)
    run_scheduler_process(settings)


@app.command()
def createadmin(
    email: Annotated[str, typer.Option(prompt=True)],
    name: Annotated[str, typer.Option(prompt=True)] = "Platform admin",
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Create a platform administrator (or promote an existing account)."""
    from boxoffice.seeding.admin import create_admin  # noqa: PLC0415

    settings = _settings()
    _check_migrated(settings)
    try:
        outcome = asyncio.run(create_admin(settings, email=email, name=name, password=password))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(outcome, err=True)


def main() -> None:  # pragma: no cover
    sys.exit(app())
