"""Engines for the primary (writes, read-your-writes) and for stale-tolerant reads.

PostgreSQL: the read engine points at a replica when ``BOXOFFICE_READ_DATABASE_URL`` is set,
otherwise at the primary. SQLite: both engines open the same WAL file; write transactions start
with ``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead of failing on a lock
upgrade, while readers never block.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from boxoffice.config import Settings
from boxoffice.core import text
from boxoffice.events import geo

SQLITE_BUSY_TIMEOUT_MS = 30_000


@dataclass(slots=True)
class Database:
    write_engine: AsyncEngine
    read_engine: AsyncEngine
    write_sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]
    # Reads that must see the latest commit but take no write lock (SQLite: a deferred
    # transaction on the same file; PostgreSQL: the primary).
    primary_read_sessions: async_sessionmaker[AsyncSession]

    async def dispose(self) -> None:
        engines = {
            id(maker.kw["bind"]): maker.kw["bind"]
            for maker in (self.write_sessions, self.read_sessions, self.primary_read_sessions)
        }
        for engine in engines.values():
            await engine.dispose()


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


def _json_text(value: Any) -> str:
    """JSON columns hold UTF-8 as is (not \\u escapes), so text search sees "café"."""
    return orjson.dumps(value).decode()


def _configure_sqlite(engine: AsyncEngine, *, begin: str) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own BEGIN is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()
        dbapi_connection.create_function(
            geo.SQLITE_FUNCTION, 4, geo.haversine_km, deterministic=True
        )
        # SQLite's lower() folds ASCII only; PostgreSQL's is Unicode-aware. Same answers on both.
        dbapi_connection.create_function(text.SQLITE_LOWER, 1, text.lower, deterministic=True)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)


def create_engine(url: str, settings: Settings, *, for_writes: bool) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url,
            echo=settings.database_echo,
            json_serializer=_json_text,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        _configure_sqlite(engine, begin="BEGIN IMMEDIATE" if for_writes else "BEGIN")
        return engine
    connect_args: dict[str, Any] = {}
    if settings.database_pgbouncer:
        # Transaction pooling hands each transaction any server connection, so statements
        # prepared on one may be missing on the next: no statement caches, unique names.
        parsed = parsed.update_query_dict({"prepared_statement_cache_size": "0"})
        connect_args = {
            "statement_cache_size": 0,
            "prepared_statement_name_func": _unique_statement_name,
        }
    return create_async_engine(
        parsed,
        connect_args=connect_args,
        echo=settings.database_echo,
        json_serializer=_json_text,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_size,
        pool_pre_ping=settings.database_pre_ping,
        pool_recycle=1800,
    )


def create_database(settings: Settings) -> Database:
    write_engine = create_engine(settings.database_url, settings, for_writes=True)
    primary_read_engine = (
        create_engine(settings.database_url, settings, for_writes=False)
        if settings.is_sqlite
        else write_engine
    )
    read_engine = (
        create_engine(settings.read_database_url, settings, for_writes=False)
        if settings.read_database_url
        else primary_read_engine
    )
    return Database(
        write_engine=write_engine,
        read_engine=read_engine,
        write_sessions=async_sessionmaker(write_engine, expire_on_commit=False),
        read_sessions=async_sessionmaker(read_engine, expire_on_commit=False),
        primary_read_sessions=async_sessionmaker(primary_read_engine, expire_on_commit=False),
    )
