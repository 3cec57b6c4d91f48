"""Test fixtures: the API suite runs once per backend.

* ``sqlite`` always (a fresh migrated file per session, in-memory rate-limit storage);
* ``postgres`` when ``BOXOFFICE_TEST_DATABASE_URL`` is set: a fresh database is created next to
  the one named there, migrated, and dropped at the end. ``BOXOFFICE_TEST_REDIS_URL`` (if set)
  backs the rate limiter and ``/readyz`` in that run.

With ``CI=true`` both variables are required and their servers must answer: CI never skips
a backend silently.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from boxoffice.app import create_app
from boxoffice.config import Settings, load_settings
from boxoffice.db.migrate import upgrade

TEST_DATABASE_URL = os.environ.get("BOXOFFICE_TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("BOXOFFICE_TEST_REDIS_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"
GENEROUS_LIMIT = "100000/minute"


def _backends() -> list[str]:
    return ["sqlite", "postgres"] if TEST_DATABASE_URL else ["sqlite"]


def pytest_sessionstart(session: pytest.Session) -> None:
    if IN_CI and not (TEST_DATABASE_URL and TEST_REDIS_URL):
        pytest.exit(
            "CI=true but BOXOFFICE_TEST_DATABASE_URL or BOXOFFICE_TEST_REDIS_URL is not set",
            returncode=3,
        )


@dataclass(frozen=True)
class Backend:
    name: str
    database_url: str
    redis_url: str


async def _on_admin_database(statement: str) -> None:
    """Run one statement on the server named by BOXOFFICE_TEST_DATABASE_URL."""
    import asyncpg  # noqa: PLC0415 - only needed for the PostgreSQL run

    admin = make_url(TEST_DATABASE_URL)
    connection = await asyncpg.connect(
        host=admin.host,
        port=admin.port or 5432,
        user=admin.username,
        password=admin.password,
        database=admin.database or "postgres",
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _create_postgres_database() -> tuple[str, str]:
    name = f"boxoffice_test_{uuid.uuid4().hex[:10]}"
    await _on_admin_database(f'CREATE DATABASE "{name}"')
    url = make_url(TEST_DATABASE_URL).set(database=name)
    return url.render_as_string(hide_password=False), name


async def _drop_postgres_database(name: str) -> None:
    await _on_admin_database(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def migrated_database(
    kind: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Backend]:
    """A new database at the head migration: a SQLite file, or a PostgreSQL database that is
    dropped afterwards."""
    if kind == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "test.db"
        url = f"sqlite+aiosqlite:///{path}"
        await asyncio.to_thread(upgrade, url)
        yield Backend("sqlite", url, "")
        return
    url, name = await _create_postgres_database()
    try:
        await asyncio.to_thread(upgrade, url)
        yield Backend("postgres", url, TEST_REDIS_URL)
    finally:
        await _drop_postgres_database(name)


@pytest.fixture(scope="session", params=_backends())
async def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Backend]:
    async with migrated_database(request.param, tmp_path_factory) as database:
        yield database


@pytest.fixture(scope="module", params=_backends())
async def isolated_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Backend]:
    """A database of the test module's own: for tests that count rows every test writes
    (the outbox, the dead letters, periodic runs)."""
    async with migrated_database(request.param, tmp_path_factory) as database:
        yield database


def make_settings(backend: Backend, var_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": backend.database_url,
        "redis_url": backend.redis_url,
        "var_dir": var_dir,
        "secret_key": "test-secret-key-" + "x" * 32,
        "rate_limit_login": GENEROUS_LIMIT,
        "rate_limit_register": GENEROUS_LIMIT,
        "rate_limit_refresh": GENEROUS_LIMIT,
        "rate_limit_login_ip": GENEROUS_LIMIT,
        "rate_limit_register_ip": GENEROUS_LIMIT,
        "rate_limit_password_reset": GENEROUS_LIMIT,
        "rate_limit_password_reset_ip": GENEROUS_LIMIT,
        "log_level": "warning",
        # Jobs run only where a test runs them (tests.helpers.run_jobs or a real worker).
        "jobs_broker": "embedded",
        "jobs_in_process": False,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="session")
async def settings(backend: Backend, var_dir: Path) -> Settings:
    return make_settings(backend, var_dir)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[object]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
