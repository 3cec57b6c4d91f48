"""Two ``boxoffice scheduler`` processes started at once: one fires, the other stands by and
takes over when the first is killed; every periodic job fires once per period."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import TEST_DATABASE_URL, _create_postgres_database, _drop_postgres_database
from tests.support.processes import (
    BOXOFFICE,
    PrivateRedis,
    Proc,
    boxoffice_env,
    pg_connect,
    wait_until,
)

pytestmark = [
    pytest.mark.postgres,
    # Not a silent skip in CI: tests/conftest.py stops a CI run without this variable.
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs BOXOFFICE_TEST_DATABASE_URL"),
]

FAST = {"ticketing.expire_holds": 1.0, "ticketing.waitlist_offers": 1.0}
SLOW = {"notifications.event_reminders": 2.0}
OFF = ("maintenance.purge_idempotency_keys", "maintenance.purge_outbox")


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    url, name = await _create_postgres_database()
    try:
        migrated = await asyncio.create_subprocess_exec(
            *BOXOFFICE,
            "migrate",
            env=boxoffice_env(BOXOFFICE_DATABASE_URL=url, BOXOFFICE_SECRET_KEY="k" * 40),
        )
        assert await migrated.wait() == 0
        yield url
    finally:
        await _drop_postgres_database(name)


def _active(proc: Proc) -> bool:
    return '"scheduler active"' in proc.log.read_text(errors="replace")


async def test_two_schedulers_fire_each_job_once_per_period(
    database_url: str, tmp_path: Path
) -> None:
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    periods = {**FAST, **SLOW, **dict.fromkeys(OFF, 0.0)}
    env = boxoffice_env(
        BOXOFFICE_DATABASE_URL=database_url,
        BOXOFFICE_REDIS_URL=redis.url,
        BOXOFFICE_SECRET_KEY=secrets.token_hex(32),
        BOXOFFICE_VAR_DIR=str(tmp_path / "var"),
        BOXOFFICE_SCHEDULER_TICK_SECONDS="0.2",
        BOXOFFICE_SCHEDULER_PERIODS=",".join(f"{job}={s}" for job, s in periods.items()),
    )
    schedulers = [
        Proc.start(name, [*BOXOFFICE, "scheduler"], env, tmp_path / name)
        for name in ("scheduler-a", "scheduler-b")
    ]
    try:
        await asyncio.to_thread(
            wait_until,
            lambda: any(map(_active, schedulers)),
            timeout=30,
            what="an active scheduler",
        )
        await asyncio.sleep(6)
        first = next(s for s in schedulers if _active(s))
        standby = next(s for s in schedulers if s is not first)
        assert not _active(standby), "both schedulers were active at once"
        first.kill()  # no chance to hand the lease back: the standby waits for it to lapse
        killed_at = time.time()
        await asyncio.to_thread(
            wait_until, lambda: _active(standby), timeout=30, what="the standby to take over"
        )
        await asyncio.sleep(4)
        standby.stop()
    finally:
        for proc in schedulers:
            proc.kill() if proc.alive else None
        redis.stop()

    connection = await pg_connect(database_url)
    try:
        runs = await connection.fetch("SELECT job, slot, holder, fired_at FROM periodic_runs")
        outbox = await connection.fetch(
            "SELECT job, count(*) AS n FROM outbox_messages GROUP BY job"
        )
    finally:
        await connection.close()

    fired: dict[str, list[int]] = defaultdict(list)
    holders_by_job: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for row in runs:
        fired[row["job"]].append(row["slot"])
        holders_by_job[row["job"]].append((row["fired_at"].timestamp(), row["holder"]))
    written = {row["job"]: row["n"] for row in outbox}

    for job in OFF:
        assert job not in fired, f"{job} is switched off but fired"
    for job, period in {**FAST, **SLOW}.items():
        slots = sorted(fired[job])
        assert slots, f"{job} never fired"
        # Once per period: one firing per slot, and one outbox message per firing.
        assert len(slots) == len(set(slots))
        assert written[job] == len(slots), f"{job}: {written[job]} messages, {len(slots)} runs"
        # No period skipped while a scheduler held the lease; the only gap is the takeover.
        gaps = [b - a - 1 for a, b in itertools.pairwise(slots) if b - a > 1]
        assert len(gaps) <= 1, f"{job}: periods skipped at {gaps}"
        assert sum(gaps) * period <= 8, f"{job}: takeover took {sum(gaps) * period} s"
        # One holder at a time: the killed scheduler's firings all come before the standby's.
        ordered = [holder for _, holder in sorted(holders_by_job[job])]
        switches = sum(1 for a, b in itertools.pairwise(ordered) if a != b)
        assert switches == 1, f"{job}: the active scheduler changed {switches} times"
    assert killed_at
