"""The ``boxoffice`` command: serve, migrate, seed, createadmin."""

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


@app.command()
def seed(
    demo: Annotated[bool, typer.Option("--demo", help="Load the demo organizations and events")],
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Only when the database has no events yet")
    ] = False,
    events: Annotated[int, typer.Option(min=1, max=100_000, help="Demo events to create")] = 240,
) -> None:
    """Load demo data (safe to run twice: existing demo organizations are left alone)."""
    from boxoffice.seeding.demo import seed_demo  # noqa: PLC0415

    if not demo:
        typer.echo("nothing to do: pass --demo", err=True)
        raise typer.Exit(2)
    settings = _settings()
    _check_migrated(settings)
    created = asyncio.run(seed_demo(settings, event_count=events, only_if_empty=if_empty))
    typer.echo(f"demo data: {created} events created", err=True)


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
