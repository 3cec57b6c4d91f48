"""Migrations and models agree, on every backend the suite runs against."""

from __future__ import annotations

import warnings
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from boxoffice.db.migrate import head_revision
from boxoffice.db.migrations.env_filters import include_name
from boxoffice.db.models import Base
from tests.conftest import Backend


def _differences(connection: Connection) -> list[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLite cannot reflect expression indexes
        context = MigrationContext.configure(connection, opts={"include_name": include_name})
        return list(compare_metadata(context, Base.metadata))


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


class TestMigrations:
    async def test_schema_matches_the_models(self, backend: Backend) -> None:
        engine = create_async_engine(backend.database_url)
        try:
            async with engine.connect() as connection:
                assert await connection.run_sync(_differences) == []
                assert await connection.run_sync(_revision) == head_revision()
        finally:
            await engine.dispose()
