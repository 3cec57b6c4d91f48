"""EXPLAIN (ANALYZE, BUFFERS) of the SQL that the search routes really run.

For one request path per scenario, the app is run in-process (same code, same settings as the
server), every statement it sends to PostgreSQL is captured with its parameters, and each
SELECT is explained on the same database. Used by ``bench/search.py --explain FILE``.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from boxoffice.app import create_app
from boxoffice.config import Settings

SKIPPED_PREFIXES = ("SET ", "SHOW ", "select pg_", "SELECT pg_")


async def _explain(database_url: str, paths: dict[str, Path]) -> str:
    settings = Settings(
        database_url=database_url,
        env="production",
        secret_key=secrets.token_hex(32),
        cache_enabled=False,
        rate_limit_enabled=False,
    )
    app = create_app(settings)
    sections: list[str] = []
    async with app.router.lifespan_context(app):
        engine: AsyncEngine = app.state.resources.database.read_engine
        captured: list[tuple[str, Any]] = []

        def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            captured.append((statement, parameters))

        event.listen(engine.sync_engine, "before_cursor_execute", capture)
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for name, file in paths.items():
                path = file.read_text(encoding="utf-8").splitlines()[0]
                captured.clear()
                response = await client.get(path)
                sections.append(f"## {name}\n\n`GET {path}` → {response.status_code}\n")
                for statement, parameters in list(captured):
                    if statement.startswith(SKIPPED_PREFIXES) or "search_state" in statement:
                        continue
                    async with engine.connect() as connection:
                        rows = await connection.exec_driver_sql(
                            "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
                        )
                        plan = "\n".join(str(row[0]) for row in rows)
                    sections.append(f"```sql\n{statement}\n```\n\n```\n{plan}\n```\n")
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    return "# Search query plans\n\n" + "\n".join(sections)


def explain_paths(database_url: str, paths: dict[str, Path], output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(asyncio.run(_explain(database_url, paths)), encoding="utf-8")
