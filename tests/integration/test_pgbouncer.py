"""Through a real PgBouncer in transaction mode, as in the scaled-out deployment.

With ``BOXOFFICE_DATABASE_PGBOUNCER=true`` the app works; without it, asyncpg's prepared
statements land on server connections that never saw them — the control shows the failure the
setting exists for.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from boxoffice.app import create_app
from boxoffice.db.migrate import upgrade
from tests.conftest import (
    IN_CI,
    TEST_DATABASE_URL,
    Backend,
    _create_postgres_database,
    _drop_postgres_database,
    make_settings,
)
from tests.helpers import API, PASSWORD

PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
)

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL or (PGBOUNCER is None and not IN_CI),
    reason="needs BOXOFFICE_TEST_DATABASE_URL and pgbouncer (apt-get install pgbouncer)",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def pgbouncer_port() -> Iterator[int]:
    assert PGBOUNCER is not None, "CI needs pgbouncer: apt-get install pgbouncer"
    server = make_url(TEST_DATABASE_URL)
    port = _free_port()
    directory = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    directory.chmod(0o755)  # pgbouncer drops root privileges to the postgres user
    (directory / "userlist.txt").write_text(f'"{server.username}" ""\n')
    (directory / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={server.host} port={server.port or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {directory / 'userlist.txt'}\n"
        "pool_mode = transaction\ndefault_pool_size = 2\nmax_client_conn = 500\n"
    )
    for path in directory.iterdir():
        path.chmod(0o644)
    command = [PGBOUNCER, str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None:
                raise AssertionError(f"pgbouncer exited: {process.stderr.read()}")  # type: ignore[union-attr]
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
async def database_behind_pgbouncer(pgbouncer_port: int) -> AsyncIterator[str]:
    direct_url, name = await _create_postgres_database()
    try:
        await asyncio.to_thread(upgrade, direct_url)  # migrations go straight to PostgreSQL
        yield str(
            make_url(direct_url)
            .set(host="127.0.0.1", port=pgbouncer_port)
            .render_as_string(hide_password=False)
        )
    finally:
        await _drop_postgres_database(name)


async def _burst(url: str, tmp_path: Path, *, pgbouncer_mode: bool) -> list[int]:
    backend = Backend("pgbouncer", url, "")
    settings = make_settings(backend, tmp_path, database_pgbouncer=pgbouncer_mode)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:

            async def sign_up_and_browse() -> list[int]:
                email = f"pgb-{uuid.uuid4().hex[:12]}@example.com"
                registered = await client.post(
                    f"{API}/auth/register",
                    json={"email": email, "password": PASSWORD, "name": "Bouncer"},
                )
                listing = await client.get(f"{API}/events", params={"q": uuid.uuid4().hex})
                return [registered.status_code, listing.status_code]

            results = await asyncio.gather(*[sign_up_and_browse() for _ in range(40)])
    return [status for pair in results for status in pair]


class TestThroughPgBouncer:
    async def test_transaction_pooling_works_with_the_setting(
        self, database_behind_pgbouncer: str, tmp_path: Path
    ) -> None:
        statuses = await _burst(database_behind_pgbouncer, tmp_path, pgbouncer_mode=True)
        assert set(statuses) <= {200, 201}

    async def test_without_the_setting_prepared_statements_break(
        self, database_behind_pgbouncer: str, tmp_path: Path
    ) -> None:
        try:
            statuses = await _burst(database_behind_pgbouncer, tmp_path, pgbouncer_mode=False)
        except DBAPIError as error:  # already at start-up (the migration check)
            assert "prepared statement" in str(error)
            return
        assert any(status >= 500 for status in statuses)
