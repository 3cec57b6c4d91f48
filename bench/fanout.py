"""Notice fan-out benchmark: an event with 50,000 ticket holders is cancelled; every holder
gets one e-mail through the real job system and a real SMTP server on loopback.

    .venv/bin/python bench/fanout.py [--holders 50000] [--processes 1 2] [--threads 8]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/boxoffice_fanout_bench]
        [--ceiling-holders N] [--ceiling-concurrency 8] [--rearm] [--no-ceiling] [--no-profile]
        [--keep-database] [--keep-logs]
        [--worker-env BOXOFFICE_X=VALUE ...] [--output bench/results/fanout.json]

What one run does (``make bench-fanout``):

1. Recreates the database and migrates it; starts a private redis-server on a free port (no
   persistence; the machine's Redis is left alone) and ``boxoffice serve`` (production
   settings, 1 granian worker) on 127.0.0.1:8731, both in their own process groups. Through
   the API: an organizer and an organization.
2. For each ``--processes`` value (1, then 2): a fresh published event with one paid ticket
   type, ``--holders`` holders added directly (``boxoffice.seeding.holders.add_holders``:
   users, confirmed paid orders, tickets), a fresh SMTP sink process
   (``python -m tests.support.smtp_inbox --count-only --record FILE``) and
   ``boxoffice worker --processes P --threads T`` (Redis broker, SMTP without TLS, otherwise
   production defaults). Once the worker has booted: ``POST /events/{id}/cancel`` (which
   cancels and refunds the holders' orders and writes one ``notify.fan_out`` outbox row), and
   the clock runs until the sink has accepted every holder's message. Measured: the cancel
   request; messages/s from its commit (its response) to the last message accepted; when the
   first message arrived and every batch row was written; batch job durations and waits
   (outbox rows' ``dispatched_at``/``completed_at``; a batch starts when it claims its
   deliveries, ``email_deliveries.created_at``); the other jobs the cancel wrote; the CPU time
   of each party (/proc, process groups and this database's backends); and the outcome:
   exactly one message per holder (distinct keys and recipients = the event's holders), every
   ``email_deliveries`` row ``sent``, every batch row completed, no dead jobs. ``--rearm``
   makes later runs deliver the first run's notice again instead of cancelling a new event.
3. The ceiling, in the same run: the same N messages composed with
   ``compose.event_cancelled`` and sent with aiosmtplib to a fresh sink by a bare loop in this
   process, one SMTP connection per 200 messages like the batches, ``--ceiling-concurrency``
   (default: ``--threads``) connections at a time on one event loop; no job system, no
   database during the loop (the event and holders are read before the clock starts).
4. Unless ``--no-profile``: one batch job of 200 run in this process against the same
   database and sink, twice: once with a wall-clock breakdown (loads, claim, compose, SMTP,
   marks), once under cProfile with composing moved onto the event loop's thread (cProfile
   sees one thread only).
5. Prints the tables and writes the JSON to ``--output``; stops everything it started and
   drops the database (unless ``--keep-database``), also on Ctrl-C.

Exit status: 0 when every run delivered exactly one message per holder and recorded them all
sent; 1 otherwise (or on errors); 130 when interrupted. See docs/benchmarks.md, "Notice
fan-out".
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import cProfile
import email.header
import json
import math
import os
import pstats
import re
import secrets
import shlex
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import flash_sale as flash
import run as base

ROOT = base.ROOT
sys.path.insert(0, str(ROOT))
from tests.support.processes import PrivateRedis, free_port  # noqa: E402

HOST = "127.0.0.1"
APP_PORT = 8731
API = "/api/v1"
DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/boxoffice_fanout_bench"
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "fanout.json"
PASSWORD = "fan-out-bench-9"
PRICE = 4900  # paid tickets: the notice says a refund is on its way
BATCH = 200  # notifications/jobs.py FAN_OUT_BATCH; the ceiling opens one connection per BATCH
POLL_S = 0.25
REPORT_EVERY_S = 10.0
CANCEL_TIMEOUT_S = 1800.0
SETTLE_TIMEOUT_S = 120.0
LATE_COPIES_GRACE_S = 2.0
BOOT_TIMEOUT_S = 60.0
T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# Processes


class Stack:
    """What this run started, stopped in reverse order whatever happens."""

    def __init__(self) -> None:
        self._stops: list[tuple[str, Callable[[], None]]] = []

    def push(self, name: str, stop: Callable[[], None]) -> None:
        self._stops.append((name, stop))

    def pop(self, name: str) -> None:
        """Stop ``name`` now (the last one pushed under that name)."""
        for index in range(len(self._stops) - 1, -1, -1):
            if self._stops[index][0] == name:
                _, stop = self._stops.pop(index)
                stop()
                return

    def close(self) -> None:
        while self._stops:
            name, stop = self._stops.pop()
            try:
                stop()
            except Exception as exc:  # keep stopping the others
                print(f"warning: stopping {name} failed: {exc!r}", file=sys.stderr)


def start_process(name: str, command: list[str], env: dict[str, str], log: Path) -> base.Server:
    """A process in its own group (``base.start_server``), output to ``log``."""
    return base.start_server(name, command, env, log)  # type: ignore[arg-type]


def wait_for_log(
    server: base.Server, pattern: str, *, count: int = 1, timeout: float = BOOT_TIMEOUT_S
) -> list[re.Match[str]]:
    """Wait until ``pattern`` matched ``count`` lines of the process's log."""
    regex = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while True:
        text = server.log_path.read_text(encoding="utf-8", errors="replace")
        matches = [m for line in text.splitlines() if (m := regex.search(line))]
        if len(matches) >= count:
            return matches
        if server.process.poll() is not None:
            raise base.BenchError(
                f"{server.name} exited with {server.process.returncode}; last lines of "
                f"{server.log_path}:\n{base.log_tail(server.log_path)}"
            )
        if time.monotonic() > deadline:
            raise base.BenchError(
                f"{server.name}: {count} x /{pattern}/ not seen within {timeout:.0f} s; last "
                f"lines of {server.log_path}:\n{base.log_tail(server.log_path)}"
            )
        time.sleep(0.1)


@dataclass
class Sink:
    server: base.Server
    port: int
    record: Path


def start_sink(stack: Stack, workdir: Path, label: str) -> Sink:
    port = free_port()
    record = workdir / f"sink-{label}.jsonl"
    command = [
        sys.executable, "-m", "tests.support.smtp_inbox", "--host", HOST, "--port", str(port),
        "--count-only", "--record", str(record), "--interval", "5",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    server = start_process("smtp-sink", command, env, workdir / f"sink-{label}.log")
    stack.push(f"sink-{label}", lambda: base.stop_server(server))
    wait_for_log(server, r"^listening ")
    return Sink(server, port, record)


class RecordReader:
    """Follows a sink's ``--record`` file: one JSON object per accepted message."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: list[dict[str, Any]] = []
        self._offset = 0
        self._partial = b""

    def poll(self) -> int:
        with contextlib.suppress(FileNotFoundError), self.path.open("rb") as file:
            file.seek(self._offset)
            chunk = file.read()
            self._offset += len(chunk)
            lines = (self._partial + chunk).split(b"\n")
            self._partial = lines.pop()
            self.entries.extend(json.loads(line) for line in lines if line.strip())
        return len(self.entries)


# --------------------------------------------------------------------------------------------
# Setup through the API and the seeding helper


@dataclass
class Organizer:
    headers: dict[str, str]
    org_id: str


async def _organizer(base_url: str) -> Organizer:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        response = await client.post(
            f"{API}/auth/register",
            json={
                "email": f"fanout-{uuid.uuid4().hex[:12]}@example.com",
                "password": PASSWORD,
                "name": "Fan-out Organizer",
            },
        )
        if response.status_code != 201:
            raise base.BenchError(f"register: HTTP {response.status_code}: {response.text[:300]}")
        headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        response = await client.post(
            f"{API}/organizations", json={"name": "Fan-out Concerts"}, headers=headers
        )
        if response.status_code != 201:
            raise base.BenchError(f"organization: HTTP {response.status_code}: {response.text}")
        return Organizer(headers, response.json()["id"])


async def _published_event(base_url: str, organizer: Organizer, title: str) -> tuple[str, str]:
    """A published event with one paid ticket type; returns (event id, ticket type id)."""
    starts = datetime.now(UTC) + timedelta(days=30)
    event = {
        "title": title,
        "description": "The band is ill; everyone gets their money back.",
        "category": "music",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=3)).isoformat(),
        "timezone": "Europe/Berlin",
        "venue": {"name": "Arena", "address": "Hauptstraße 1", "city": "Berlin", "country": "DE"},
    }
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        response = await client.post(
            f"{API}/organizations/{organizer.org_id}/events", json=event, headers=organizer.headers
        )
        if response.status_code != 201:
            raise base.BenchError(f"event: HTTP {response.status_code}: {response.text}")
        event_id: str = response.json()["id"]
        response = await client.post(
            f"{API}/events/{event_id}/ticket-types",
            json={"name": "Standing", "price_amount": PRICE, "currency": "EUR", "quantity": 1},
            headers=organizer.headers,
        )
        if response.status_code != 201:
            raise base.BenchError(f"ticket type: HTTP {response.status_code}: {response.text}")
        ticket_type_id: str = response.json()["id"]
        response = await client.post(f"{API}/events/{event_id}/publish", headers=organizer.headers)
        if response.status_code != 200:
            raise base.BenchError(f"publish: HTTP {response.status_code}: {response.text}")
    return event_id, ticket_type_id


def local_settings(args: argparse.Namespace, **overrides: Any) -> Any:
    """Settings for the work this process does itself (holders, ceiling facts, profile)."""
    from boxoffice.config import Settings  # noqa: PLC0415

    return Settings(
        database_url=args.database_url,
        secret_key=args.secret_key,
        var_dir=args.var_dir,
        log_level="warning",
        **overrides,
    )


async def _with_database(
    args: argparse.Namespace, work: Callable[[Any], Awaitable[T]], **overrides: Any
) -> T:
    from boxoffice.db.engine import create_database  # noqa: PLC0415

    database = create_database(local_settings(args, **overrides))
    try:
        return await work(database)
    finally:
        await database.dispose()


def add_holders(args: argparse.Namespace, ticket_type_id: str, count: int) -> float:
    """``count`` holders with a progress bar; returns the seconds it took."""
    from boxoffice.core.progress import progress_bar  # noqa: PLC0415
    from boxoffice.seeding.holders import add_holders as seed_holders  # noqa: PLC0415

    started = time.monotonic()
    with progress_bar("  adding holders") as update:
        done = 0

        def progress(added: int) -> None:
            nonlocal done
            done += added
            update(done, count)

        update(0, count)

        async def work(database: Any) -> int:
            return await seed_holders(
                database, ticket_type_id=uuid.UUID(ticket_type_id), count=count, progress=progress
            )

        asyncio.run(_with_database(args, work))
    return time.monotonic() - started


# --------------------------------------------------------------------------------------------
# Reading the database


async def _connect(target: base.PgTarget) -> Any:
    import asyncpg  # noqa: PLC0415

    return await asyncpg.connect(
        host=target.host, port=target.port, user=target.user, password=target.password,
        database=target.database,
    )  # fmt: skip


async def _fetch(target: base.PgTarget, sql: str, *params: Any) -> list[Any]:
    conn = await _connect(target)
    try:
        return list(await conn.fetch(sql, *params))
    finally:
        await conn.close()


def fetch(target: base.PgTarget, sql: str, *params: Any) -> list[Any]:
    return asyncio.run(_fetch(target, sql, *params))


def notice_key_of(event_id: str) -> str:
    return f"event-cancelled:{event_id}"  # events/service.py cancel_event


SETTLED_SQL = """
SELECT
  (SELECT count(*) FROM outbox_messages WHERE completed_at IS NULL
     AND job IN ('notify.fan_out', 'mail.event_notice_batch')) AS pending_jobs,
  (SELECT count(*) FILTER (WHERE status = 'sent') FROM email_deliveries
     WHERE key LIKE $1 || ':%') AS sent
"""


def settled(target: base.PgTarget, notice_key: str, holders: int) -> tuple[bool, int, int]:
    row = fetch(target, SETTLED_SQL, notice_key)[0]
    return row["pending_jobs"] == 0 and row["sent"] == holders, row["pending_jobs"], row["sent"]


def _ts(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def job_timings(target: base.PgTarget, event_id: str) -> dict[str, Any]:
    """From the outbox rows and the delivery claims: when the fan-out ran, when each batch
    row was written, handed to Redis, claimed its deliveries (≈ started sending) and
    completed."""
    notice_key = notice_key_of(event_id)
    fan_out = fetch(
        target,
        "SELECT created_at, dispatched_at, completed_at, dispatch_count FROM outbox_messages "
        "WHERE job = 'notify.fan_out' AND dedupe_key = $1",
        notice_key,
    )
    batches = fetch(
        target,
        "SELECT created_at, dispatched_at, completed_at, dispatch_count, "
        "payload->>'after_user_id' AS after, payload->>'last_user_id' AS last "
        "FROM outbox_messages WHERE job = 'mail.event_notice_batch' "
        "AND payload->>'notice_key' = $1 ORDER BY payload->>'last_user_id'",
        notice_key,
    )
    deliveries = fetch(
        target,
        "SELECT split_part(key, ':', 3)::uuid AS user_id, created_at, sent_at, status, attempts "
        "FROM email_deliveries WHERE key LIKE $1 || ':%' ORDER BY 1",
        notice_key,
    )
    dead = fetch(
        target,
        "SELECT count(*) AS n FROM dead_jobs WHERE job IN ('notify.fan_out', "
        "'mail.event_notice_batch') AND (payload->>'event_id') = $1",
        event_id,
    )[0]["n"]
    user_ids = [row["user_id"] for row in deliveries]
    durations: list[float] = []
    waits: list[float] = []
    relay_lags: list[float] = []
    per_batch: list[dict[str, Any]] = []
    for row in batches:
        low = bisect.bisect_right(user_ids, uuid.UUID(row["after"])) if row["after"] else 0
        high = bisect.bisect_right(user_ids, uuid.UUID(row["last"]))
        claims = [_ts(deliveries[i]["created_at"]) for i in range(low, high)]
        claimed = min((c for c in claims if c is not None), default=None)
        created, dispatched, completed = (
            _ts(row["created_at"]),
            _ts(row["dispatched_at"]),
            _ts(row["completed_at"]),
        )
        if claimed is not None and completed is not None:
            durations.append(completed - claimed)
        if claimed is not None and dispatched is not None:
            waits.append(claimed - dispatched)
        if created is not None and dispatched is not None:
            relay_lags.append(dispatched - created)
        per_batch.append(
            {
                "messages": high - low,
                "created": created,
                "dispatched": dispatched,
                "claimed": claimed,
                "completed": completed,
                "dispatch_count": row["dispatch_count"],
            }
        )
    statuses = Counter(row["status"] for row in deliveries)
    attempts = Counter(row["attempts"] for row in deliveries)

    def stats(values: list[float]) -> dict[str, float | None]:
        return {
            "p50_s": _round(_percentile(values, 0.50), 3),
            "p95_s": _round(_percentile(values, 0.95), 3),
            "max_s": _round(max(values) if values else None, 3),
            "mean_s": _round(sum(values) / len(values) if values else None, 3),
        }

    fan = fan_out[0] if fan_out else None
    return {
        "fan_out_row": {
            "created": _ts(fan["created_at"]) if fan else None,
            "dispatched": _ts(fan["dispatched_at"]) if fan else None,
            "completed": _ts(fan["completed_at"]) if fan else None,
            "dispatch_count": fan["dispatch_count"] if fan else None,
        },
        "batches": len(batches),
        "batches_completed": sum(1 for b in per_batch if b["completed"] is not None),
        "batch_rows_redispatched": sum(1 for b in per_batch if (b["dispatch_count"] or 0) > 1),
        "last_batch_row_written": max(
            (b["created"] for b in per_batch if b["created"]), default=None
        ),
        "first_claim": min((b["claimed"] for b in per_batch if b["claimed"]), default=None),
        "batch_duration": stats(durations),  # claim of its deliveries -> row completed
        "batch_queue_wait": stats(waits),  # handed to Redis -> claim
        "relay_lag": stats(relay_lags),  # row written -> handed to Redis
        "deliveries": len(deliveries),
        "delivery_statuses": dict(statuses),
        "delivery_attempts": {str(k): v for k, v in sorted(attempts.items())},
        "dead_jobs": dead,
        "per_batch": per_batch,
    }


def holder_emails(target: base.PgTarget, event_id: str) -> set[str]:
    rows = fetch(
        target,
        "SELECT DISTINCT u.email FROM orders o JOIN users u ON u.id = o.user_id "
        "WHERE o.event_id = $1 AND o.confirmed_at IS NOT NULL",
        uuid.UUID(event_id),
    )
    return {row["email"] for row in rows}


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


# --------------------------------------------------------------------------------------------
# One measured run


@dataclass
class Env:
    args: argparse.Namespace
    target: base.PgTarget
    workdir: Path
    redis_url: str
    redis_pid: int | None
    server: base.Server
    base_url: str
    organizer: Organizer
    results: list[dict[str, Any]] = field(default_factory=list)


def server_env(args: argparse.Namespace, redis_url: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")},
        "BOXOFFICE_DATABASE_URL": args.database_url,
        "BOXOFFICE_REDIS_URL": redis_url,
        "BOXOFFICE_ENV": "production",
        "BOXOFFICE_SECRET_KEY": args.secret_key,
        "BOXOFFICE_LOG_LEVEL": "warning",
        "BOXOFFICE_VAR_DIR": str(args.var_dir),
    }


def worker_env(args: argparse.Namespace, redis_url: str, sink: Sink) -> dict[str, str]:
    return {
        **server_env(args, redis_url),
        "BOXOFFICE_LOG_LEVEL": "info",  # "worker booted" tells us it is ready
        "BOXOFFICE_LOG_JSON": "true",
        "BOXOFFICE_SMTP_HOST": HOST,
        "BOXOFFICE_SMTP_PORT": str(sink.port),
        "BOXOFFICE_SMTP_TLS": "none",
        **dict(item.split("=", 1) for item in args.worker_env),
    }


async def _backend_pids(target: base.PgTarget) -> dict[str, list[int]]:
    conn = await _connect(target)
    try:
        rows = await conn.fetch(
            "SELECT pid, datname, backend_type FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return {
        "backends": [
            r["pid"]
            for r in rows
            if r["datname"] == target.database and r["backend_type"] == "client backend"
        ],
        "background": [r["pid"] for r in rows if r["backend_type"] != "client backend"],
    }


class Parties:
    """The processes whose CPU time is measured, re-read on every poll (pools connect lazily,
    so PostgreSQL backends appear during the run)."""

    def __init__(self, env: Env, worker: base.Server, sink: Sink) -> None:
        self.env = env
        self.worker = worker
        self.sink = sink
        self.seen: dict[str, set[int]] = {}
        self.refresh()

    def refresh(self) -> dict[str, list[int]]:
        pg = asyncio.run(_backend_pids(self.env.target))
        groups = {
            "worker processes": flash.process_group(self.worker.process.pid),
            "SMTP sink": flash.process_group(self.sink.server.process.pid),
            "PostgreSQL backends (this database)": pg["backends"],
            "PostgreSQL background": pg["background"],
            "app server (the cancel request, its relay)": flash.process_group(
                self.env.server.process.pid
            ),
            "Redis (private)": [self.env.redis_pid] if self.env.redis_pid else [],
            "this runner": [os.getpid()],
        }
        for name, pids in groups.items():
            self.seen.setdefault(name, set()).update(pids)
        return {name: sorted(pids) for name, pids in self.seen.items()}

    def all_pids(self) -> list[int]:
        return sorted({pid for pids in self.seen.values() for pid in pids})


def cpu_report(meter: flash.CpuMeter, parties: Parties) -> dict[str, Any]:
    groups = parties.refresh()
    cpu = meter.stop(groups)
    others = cpu["machine"]["cpu_s"] - sum(g["cpu_s"] for g in cpu["groups"].values())
    wall = cpu["wall_s"] or 1.0
    cpu["groups"]["everything else on the machine"] = {
        "cpu_s": round(others, 2),
        "cores": round(others / wall, 2),
        "processes": None,
    }
    return cpu


REARM_SQL = (
    "DELETE FROM email_deliveries WHERE key LIKE $1 || ':%'",
    "DELETE FROM outbox_messages WHERE job = 'mail.event_notice_batch' "
    "AND payload->>'notice_key' = $1",
    "UPDATE outbox_messages SET completed_at = NULL, dispatched_at = NULL, dispatch_count = 0, "
    "created_at = now(), due_at = now() WHERE job = 'notify.fan_out' AND dedupe_key = $1",
)


async def _rearm(target: base.PgTarget, notice_key: str, *, commit: bool) -> None:
    """Undo a delivered notice (its deliveries and batch rows) and, with ``commit``, make
    its fan-out row due again: the relays hand it to Redis within their poll interval."""
    conn = await _connect(target)
    try:
        if commit:
            async with conn.transaction():
                for statement in REARM_SQL:
                    await conn.execute(statement, notice_key)
        else:
            for statement in REARM_SQL[:2]:
                await conn.execute(statement, notice_key)
            await conn.execute("VACUUM ANALYZE email_deliveries")
            await conn.execute("VACUUM ANALYZE outbox_messages")
    finally:
        await conn.close()


SEEDED_TABLES = ("users", "orders", "order_items", "tickets", "ticket_types", "events")


def analyze(target: base.PgTarget) -> None:
    """Fresh statistics for the bulk-loaded tables, as a database in service would have. Only
    those: the job tables are left as the app leaves them (ANALYZE on an empty outbox makes
    PostgreSQL trust that it is empty; see docs/benchmarks.md, "Notice fan-out")."""

    async def work() -> None:
        conn = await _connect(target)
        try:
            await conn.execute(f"ANALYZE {', '.join(SEEDED_TABLES)}")
        finally:
            await conn.close()

    asyncio.run(work())


def decoded_key(value: str | None) -> str | None:
    """X-Boxoffice-Key as sent: long keys arrive folded as RFC 2047 encoded words."""
    if value is None or "=?" not in value:
        return value
    return str(email.header.make_header(email.header.decode_header(value)))


def measure_run(
    env: Env, stack: Stack, processes: int, previous_event: str | None, index: int
) -> dict[str, Any]:
    """One run with ``processes`` worker processes. Without ``previous_event``: a fresh
    event with its holders, cancelled over HTTP. With it: that event's notice is delivered
    again (its deliveries and batch rows deleted, its fan-out row due again)."""
    args = env.args
    label = f"run{index}-p{processes}"  # names this run's sink record and logs
    print(f"\nRun: {processes} worker process(es) x {args.threads} threads", flush=True)
    seeding_s: float | None = None
    if previous_event is None:
        event_id, ticket_type_id = asyncio.run(
            _published_event(env.base_url, env.organizer, f"Fan-out night ({label})")
        )
        seeding_s = add_holders(args, ticket_type_id, args.holders)
        analyze(env.target)
        print(f"  {args.holders:,} holders added in {seeding_s:.1f} s (event {event_id})")
    else:
        event_id = previous_event
        asyncio.run(_rearm(env.target, notice_key_of(event_id), commit=False))
        print(f"  delivering the notice of event {event_id} again (re-armed, not re-cancelled)")
    notice_key = notice_key_of(event_id)
    sink = start_sink(stack, env.workdir, label)
    command = [
        str(base.venv_bin("boxoffice")), "worker",
        "--processes", str(processes), "--threads", str(args.threads),
    ]  # fmt: skip
    print(f"  {shlex.join(command)}", flush=True)
    worker = start_process(
        "worker",
        command,
        worker_env(args, env.redis_url, sink),
        env.workdir / f"worker-{label}.log",
    )
    stack.push(f"worker-{label}", lambda: base.stop_server(worker))
    wait_for_log(worker, r"worker booted", count=processes)
    time.sleep(1.0)  # let the relays' first (empty) polls pass
    reader = RecordReader(sink.record)
    parties = Parties(env, worker, sink)
    meter_cancel, meter_delivery = flash.CpuMeter(), flash.CpuMeter()

    cpu_cancel: dict[str, Any] | None = None
    if previous_event is None:
        meter_cancel.start(parties.all_pids())
        print("  POST /events/{id}/cancel", flush=True)
        t0 = time.time()
        with httpx.Client(base_url=env.base_url, timeout=CANCEL_TIMEOUT_S) as client:
            response = client.post(f"{API}/events/{event_id}/cancel", headers=env.organizer.headers)
        t1 = time.time()
        if response.status_code != 200:
            raise base.BenchError(f"cancel: HTTP {response.status_code}: {response.text[:500]}")
        cpu_cancel = cpu_report(meter_cancel, parties)
        print(f"  cancel answered after {t1 - t0:.1f} s; {reader.poll():,} messages so far")
    else:
        t0 = time.time()
        asyncio.run(_rearm(env.target, notice_key, commit=True))
        t1 = time.time()
    meter_delivery.start(parties.all_pids())

    deadline = time.monotonic() + args.timeout
    next_report = time.monotonic() + REPORT_EVERY_S
    last_poll = time.monotonic()
    progress_at, progress_count = time.monotonic(), 0
    while reader.poll() < args.holders:
        if len(reader.entries) != progress_count:
            progress_at, progress_count = time.monotonic(), len(reader.entries)
        elif time.monotonic() - progress_at > args.stall_timeout:
            raise base.BenchError(
                f"no message for {args.stall_timeout:.0f} s ({progress_count:,} of "
                f"{args.holders:,}); the longest statements now:\n"
                + "\n".join(long_statements(env.target))
                + f"\nsee {worker.log_path}"
            )
        if worker.process.poll() is not None:
            raise base.BenchError(
                f"the worker exited with {worker.process.returncode}:\n"
                f"{base.log_tail(worker.log_path)}"
            )
        if time.monotonic() > deadline:
            raise base.BenchError(
                f"only {len(reader.entries):,} of {args.holders:,} messages after "
                f"{args.timeout:.0f} s; see {worker.log_path}"
            )
        if time.monotonic() - last_poll > 1.0:
            parties.refresh()
            meter_delivery.poll(parties.all_pids())
            last_poll = time.monotonic()
        if time.monotonic() >= next_report:
            elapsed = time.time() - t1
            count = len(reader.entries)
            print(f"  {count:,} / {args.holders:,} after {elapsed:.0f} s ({count / elapsed:.0f}/s)")
            next_report += REPORT_EVERY_S
        time.sleep(POLL_S)
    t_seen = time.time()
    cpu_delivery = cpu_report(meter_delivery, parties)
    received_at = sorted(entry["received_at"] for entry in reader.entries)[: args.holders]
    first_received, last_received = received_at[0], received_at[-1]
    print(f"  all {args.holders:,} received {last_received - t1:.1f} s after the commit")

    # The last "sent" marks and the batch rows' completion follow the last acceptance.
    settle_deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while True:
        done, pending, sent = settled(env.target, notice_key, args.holders)
        if done or time.monotonic() > settle_deadline:
            break
        time.sleep(POLL_S)
    settle_s = time.time() - t_seen
    time.sleep(LATE_COPIES_GRACE_S)
    reader.poll()
    stack.pop(f"worker-{label}")
    stack.pop(f"sink-{label}")

    timings = job_timings(env.target, event_id)
    other_jobs = [
        {
            "job": row["job"],
            "rows": row["n"],
            "completed_by_the_end": row["completed"],
            "last_completed_after_commit_s": _round(last - t1, 2)
            if (last := _ts(row["last"])) is not None
            else None,
        }
        for row in fetch(
            env.target,
            "SELECT job, count(*) AS n, count(completed_at) AS completed, "
            "max(completed_at) AS last FROM outbox_messages WHERE created_at BETWEEN $1 AND $2 "
            "AND job NOT IN ('notify.fan_out', 'mail.event_notice_batch') GROUP BY job",
            datetime.fromtimestamp(t0, UTC),
            datetime.fromtimestamp(t1, UTC),
        )
    ]
    for other in other_jobs:
        print(
            f"  the cancel also wrote {other['rows']:,} x {other['job']} "
            f"({other['completed_by_the_end']:,} done by the last message + {settle_s:.1f} s)"
        )
    purged = purge_pending(env)
    if purged:
        print(f"  {purged:,} jobs left undone were dropped, so the next run starts clean")
    expected = holder_emails(env.target, event_id)
    keys = Counter(decoded_key(entry["key"]) for entry in reader.entries)
    recipients = Counter(r for entry in reader.entries for r in entry["rcpt_tos"])
    outcome = {
        "received": len(reader.entries),
        "distinct_keys": len(keys),
        "duplicate_keys": sum(1 for n in keys.values() if n > 1),
        "foreign_keys": sum(1 for k in keys if not str(k).startswith(notice_key + ":")),
        "distinct_recipients": len(recipients),
        "recipients_equal_holders": set(recipients) == expected,
        "holders_in_database": len(expected),
        "deliveries_rows": timings["deliveries"],
        "deliveries_sent": timings["delivery_statuses"].get("sent", 0),
        "delivery_statuses": timings["delivery_statuses"],
        "delivery_attempts": timings["delivery_attempts"],
        "batch_rows": timings["batches"],
        "batch_rows_completed": timings["batches_completed"],
        "batch_rows_expected": math.ceil(args.holders / BATCH),
        "dead_jobs": timings["dead_jobs"],
        "settled_within_s": round(settle_s, 2),
        "settled": done,
        "pending_jobs_at_end": pending,
        "sent_at_end": sent,
    }
    outcome["valid"] = (
        outcome["received"] == args.holders
        and outcome["distinct_keys"] == args.holders
        and outcome["duplicate_keys"] == 0
        and outcome["foreign_keys"] == 0
        and outcome["distinct_recipients"] == args.holders
        and outcome["recipients_equal_holders"]
        and outcome["deliveries_rows"] == args.holders
        and outcome["deliveries_sent"] == args.holders
        and outcome["batch_rows"] == outcome["batch_rows_expected"]
        and outcome["batch_rows_completed"] == outcome["batch_rows"]
        and outcome["dead_jobs"] == 0
    )
    fan = timings["fan_out_row"]
    last_row = timings["last_batch_row_written"]
    delivery_s = last_received - t1
    total_s = last_received - t0
    summary = {
        "processes": processes,
        "threads": args.threads,
        "holders": args.holders,
        "event_id": event_id,
        "trigger": "cancel over HTTP" if previous_event is None else "re-armed fan-out row",
        "seeding_s": _round(seeding_s, 1),
        "cancel_request_s": round(t1 - t0, 2) if previous_event is None else None,
        "total_s": round(total_s, 2),
        "delivery_s": round(delivery_s, 2),
        "messages_per_s": round(args.holders / delivery_s, 1),
        "messages_per_s_from_request": round(args.holders / total_s, 1),
        "messages_per_s_sending": round((args.holders - 1) / (last_received - first_received), 1),
        "first_message_after_commit_s": round(first_received - t1, 2),
        "fan_out_started_after_commit_s": _round(
            fan["dispatched"] - t1 if fan["dispatched"] else None, 2
        ),
        "fan_out_done_after_commit_s": _round(last_row - t1 if last_row else None, 2),
        "fan_out_job_s": _round(
            fan["completed"] - fan["dispatched"]
            if fan["completed"] and fan["dispatched"]
            else None,
            2,
        ),
        "batch_duration": timings["batch_duration"],
        "batch_queue_wait": timings["batch_queue_wait"],
        "relay_lag": timings["relay_lag"],
        "batch_rows_redispatched": timings["batch_rows_redispatched"],
        "other_jobs_written_by_the_cancel": other_jobs,
        "jobs_dropped_at_the_end": purged,
        "cpu_cancel": cpu_cancel,
        "cpu_delivery": cpu_delivery,
        "outcome": outcome,
        "timeline": _timeline(received_at, t1),
    }
    batch = timings["batch_duration"]
    print(
        f"  {summary['messages_per_s']:,.0f} messages/s after the commit; fan-out done after "
        f"{summary['fan_out_done_after_commit_s']} s; batch p50/p95 {batch['p50_s']}/"
        f"{batch['p95_s']} s; valid: {outcome['valid']}"
    )
    return summary


def purge_pending(env: Env) -> int:
    """Drop the jobs the stopped worker left (the outbox rows, then the private Redis's
    queues), so that they do not run during the next measurement. Returns how many."""
    import redis  # noqa: PLC0415

    rows = fetch(
        env.target,
        "WITH gone AS (DELETE FROM outbox_messages WHERE completed_at IS NULL RETURNING 1) "
        "SELECT count(*) AS n FROM gone",
    )
    client = redis.Redis.from_url(env.redis_url)
    try:
        client.flushdb()
    finally:
        client.close()
    return int(rows[0]["n"])


def long_statements(target: base.PgTarget) -> list[str]:
    rows = fetch(
        target,
        "SELECT pid, now() - query_start AS running, state, wait_event_type, wait_event, "
        "pg_blocking_pids(pid) AS blockers, left(regexp_replace(query, '\\s+', ' ', 'g'), 160) "
        "AS query FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND state <> 'idle' ORDER BY query_start LIMIT 5",
    )
    return [
        f"  pid {r['pid']} {r['state']} for {r['running']} (waits: {r['wait_event_type']}:"
        f"{r['wait_event']}, blocked by {list(r['blockers'])}): {r['query']}"
        for r in rows
    ]


def _timeline(received_at: list[float], t1: float) -> list[tuple[int, int]]:
    """Messages received in each 5-second window after the cancel's commit."""
    counts: Counter[int] = Counter(int((r - t1) // 5) * 5 for r in received_at)
    return sorted(counts.items())


# --------------------------------------------------------------------------------------------
# The ceiling: compose + aiosmtplib in a bare loop, one process, no job system, no database


async def _ceiling_facts(
    args: argparse.Namespace, event_id: str, count: int
) -> tuple[Any, list[Any]]:
    """The event's facts and its first ``count`` holders, as a batch job reads them."""
    from boxoffice.notifications import facts  # noqa: PLC0415

    settings = local_settings(args)

    async def work(database: Any) -> tuple[Any, list[Any]]:
        async with database.primary_read_sessions() as session:
            event = await facts.load_event(session, uuid.UUID(event_id), settings=settings)
            holders: list[Any] = []
            after: uuid.UUID | None = None
            while len(holders) < count:
                page = await facts.load_holders(
                    session,
                    uuid.UUID(event_id),
                    after_user_id=after,
                    limit=min(5000, count - len(holders)),
                    include_event_cancelled=True,
                )
                if not page:
                    break
                holders.extend(page)
                after = page[-1].user_id
        return event, holders

    return await _with_database(args, work)


async def _bare_loop(
    event: Any, holders: list[Any], settings: Any, port: int, prefix: str, concurrency: int
) -> float:
    """Compose and send every message; one SMTP connection per BATCH messages, at most
    ``concurrency`` connections at a time (one event loop, composing inline)."""
    import aiosmtplib  # noqa: PLC0415

    from boxoffice.notifications import compose  # noqa: PLC0415

    chunks = [holders[start : start + BATCH] for start in range(0, len(holders), BATCH)]
    gate = asyncio.Semaphore(concurrency)

    async def send_chunk(chunk: list[Any]) -> None:
        async with gate:
            smtp = aiosmtplib.SMTP(hostname=HOST, port=port, timeout=30)
            await smtp.connect()
            for holder in chunk:
                key = f"{prefix}:{holder.user_id}"
                message = compose.event_cancelled(
                    event,
                    holder,
                    refund_on_its_way=True,
                    key=key,
                    message_id=compose.message_id_for(key, settings),
                    settings=settings,
                )
                await smtp.send_message(message)
            await smtp.quit()

    started = time.time()
    await asyncio.gather(*(send_chunk(chunk) for chunk in chunks))
    return time.time() - started


def measure_ceiling(env: Env, stack: Stack, event_id: str) -> dict[str, Any]:
    args = env.args
    count = args.ceiling_holders or args.holders
    print(
        f"\nCeiling: compose + aiosmtplib, bare loop, {count:,} messages, "
        f"{args.ceiling_concurrency} connection(s) at a time",
        flush=True,
    )
    event, holders = asyncio.run(_ceiling_facts(args, event_id, count))
    if event is None or len(holders) < count:
        raise base.BenchError(f"ceiling: {len(holders)} holders found, {count} wanted")
    sink = start_sink(stack, env.workdir, "ceiling")
    settings = local_settings(args)
    reader = RecordReader(sink.record)
    parties = {
        "this runner (compose + aiosmtplib)": [os.getpid()],
        "SMTP sink": flash.process_group(sink.server.process.pid),
    }
    meter = flash.CpuMeter()
    meter.start([pid for pids in parties.values() for pid in pids])
    prefix = f"ceiling:{event_id}"
    loop_s = asyncio.run(
        _bare_loop(event, holders, settings, sink.port, prefix, args.ceiling_concurrency)
    )
    cpu = meter.stop(parties)
    others = cpu["machine"]["cpu_s"] - sum(g["cpu_s"] for g in cpu["groups"].values())
    cpu["groups"]["everything else on the machine"] = {
        "cpu_s": round(others, 2),
        "cores": round(others / (cpu["wall_s"] or 1.0), 2),
        "processes": None,
    }
    deadline = time.monotonic() + 30
    while reader.poll() < count and time.monotonic() < deadline:
        time.sleep(POLL_S)
    stack.pop("sink-ceiling")
    keys = Counter(entry["key"] for entry in reader.entries)
    result = {
        "messages": count,
        "concurrency": args.ceiling_concurrency,
        "loop_s": round(loop_s, 2),
        "messages_per_s": round(count / loop_s, 1),
        "received": len(reader.entries),
        "distinct_keys": len(keys),
        "cpu": cpu,
    }
    print(f"  {result['messages_per_s']:,.0f} messages/s ({loop_s:.1f} s); received {len(keys):,}")
    return result


# --------------------------------------------------------------------------------------------
# Where a batch's time goes: one batch job in this process


@contextlib.contextmanager
def _patched(target: Any, name: str, replacement: Any) -> Iterator[None]:
    original = getattr(target, name)
    setattr(target, name, replacement)
    try:
        yield
    finally:
        setattr(target, name, original)


def _timed_async(totals: dict[str, float], label: str, fn: Any) -> Any:
    async def wrapper(*a: Any, **k: Any) -> Any:
        started = time.perf_counter()
        try:
            return await fn(*a, **k)
        finally:
            totals[label] = totals.get(label, 0.0) + time.perf_counter() - started

    return wrapper


def _timed_sync(totals: dict[str, float], label: str, fn: Any) -> Any:
    def wrapper(*a: Any, **k: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            totals[label] = totals.get(label, 0.0) + time.perf_counter() - started

    return wrapper


async def _inline_to_thread(fn: Callable[..., T], /, *a: Any, **k: Any) -> T:
    return fn(*a, **k)


PROFILE_BUCKETS = (
    ("compose: jinja2 templates", ("jinja2", "/templates/", "notifications/render.py")),
    ("compose + serialization: email package", ("/email/",)),
    ("SMTP client: aiosmtplib", ("aiosmtplib",)),
    ("database: SQLAlchemy", ("sqlalchemy",)),
    ("database: asyncpg", ("asyncpg",)),
    ("event loop, sockets (asyncio)", ("/asyncio/",)),
    ("boxoffice", ("boxoffice",)),
)


def _bucket(filename: str) -> str:
    for name, needles in PROFILE_BUCKETS:
        if any(needle in filename for needle in needles):
            return name
    return "other (builtins, stdlib)"


def profile_batch(env: Env, stack: Stack, event_id: str) -> dict[str, Any]:
    """Run ``mail.event_notice_batch`` for the first BATCH holders of ``event_id`` under a new
    notice key, in this process: once timed, once under cProfile."""
    from boxoffice.core.cache import NullCache  # noqa: PLC0415
    from boxoffice.db.engine import create_database  # noqa: PLC0415
    from boxoffice.jobs.context import JobContext  # noqa: PLC0415
    from boxoffice.notifications import compose, delivery, facts  # noqa: PLC0415
    from boxoffice.notifications import jobs as mail_jobs  # noqa: PLC0415
    from boxoffice.notifications.transport import _SmtpConnection  # noqa: PLC0415
    from boxoffice.observability.logging import configure_logging  # noqa: PLC0415

    configure_logging("warning", json=False)
    print("\nProfile: one batch job of 200 in this process", flush=True)
    sink = start_sink(stack, env.workdir, "profile")
    settings = local_settings(
        env.args, smtp_host=HOST, smtp_port=sink.port, smtp_tls="none", redis_url=""
    )
    last = fetch(
        env.target,
        "SELECT user_id FROM orders WHERE event_id = $1 ORDER BY user_id OFFSET $2 LIMIT 1",
        uuid.UUID(event_id),
        BATCH - 1,
    )[0]["user_id"]

    async def one(notice_key: str) -> float:
        database = create_database(settings)
        ctx = JobContext(settings, database, NullCache())
        try:
            started = time.perf_counter()
            await mail_jobs.event_notice_batch(
                ctx,
                kind="event_cancelled",
                event_id=event_id,
                notice_key=notice_key,
                details={},
                after_user_id=None,
                last_user_id=str(last),
            )
            return time.perf_counter() - started
        finally:
            await database.dispose()

    # Warm-up: imports, templates, the calendar part's cache, prepared statements.
    asyncio.run(one(f"profile-warm-{uuid.uuid4().hex[:8]}"))

    totals: dict[str, float] = {}
    with contextlib.ExitStack() as patches:
        for module, name, label in (
            (facts, "load_event", "database: load the event"),
            (facts, "load_holders", "database: load 200 holders"),
            (mail_jobs, "_paid_holders", "database: which holders paid"),
            (delivery, "claim", "database: claim (insert + update 200 rows)"),
            (delivery, "_mark", "database: mark sent (every 20)"),
            (_SmtpConnection, "send", "SMTP: send (serialize + protocol), awaited"),
        ):
            patches.enter_context(
                _patched(module, name, _timed_async(totals, label, getattr(module, name)))
            )
        patches.enter_context(
            _patched(
                compose,
                "event_cancelled",
                _timed_sync(totals, "compose (in a thread)", compose.event_cancelled),
            )
        )
        wall = asyncio.run(one(f"profile-timed-{uuid.uuid4().hex[:8]}"))
    accounted = sum(v for k, v in totals.items() if k != "compose (in a thread)")
    breakdown = {k: round(v * 1000, 1) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}
    breakdown["rest of the job (to_thread hand-offs, building Outgoing, logging)"] = round(
        (wall - accounted - totals.get("compose (in a thread)", 0.0)) * 1000, 1
    )

    profiler = cProfile.Profile()
    with _patched(asyncio, "to_thread", _inline_to_thread):
        profiler.enable()
        profiled_wall = asyncio.run(one(f"profile-cprofile-{uuid.uuid4().hex[:8]}"))
        profiler.disable()
    stats = pstats.Stats(profiler)
    by_bucket: Counter[str] = Counter()
    total_tt = 0.0
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, _name), (_cc, _nc, tt, _ct, _callers) in raw.items():
        by_bucket[_bucket(filename)] += tt
        total_tt += tt
    cumulative = {}
    for (filename, _line, name), (_cc, _nc, _tt, ct, _callers) in raw.items():
        if (name, filename.rsplit("/", 1)[-1]) in {
            ("event_cancelled", "compose.py"),
            ("send_message", "smtp.py"),
            ("flatten", "generator.py"),
            ("render", "render.py"),
            ("claim", "delivery.py"),
            ("_mark", "delivery.py"),
            ("load_holders", "facts.py"),
        }:
            cumulative[f"{filename.rsplit('/', 1)[-1]}:{name}"] = round(ct * 1000, 1)
    stack.pop("sink-profile")
    result: dict[str, Any] = {
        "wall_ms": round(wall * 1000, 1),
        "wall_breakdown_ms": breakdown,
        "cprofile_wall_ms": round(profiled_wall * 1000, 1),
        "cprofile_total_ms": round(total_tt * 1000, 1),
        "cprofile_by_package_ms": {k: round(v * 1000, 1) for k, v in by_bucket.most_common()},
        "cprofile_cumulative_ms": cumulative,
    }
    print(f"  one batch: {result['wall_ms']} ms wall")
    for label, ms in breakdown.items():
        print(f"    {ms:8.1f} ms  {label}")
    print(f"  under cProfile (compose inline): {result['cprofile_wall_ms']} ms wall")
    for label, ms in result["cprofile_by_package_ms"].items():
        print(f"    {ms:8.1f} ms  {label}")
    for label, ms in cumulative.items():
        print(f"    {ms:8.1f} ms  cumulative {label}")
    return result


# --------------------------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/fanout.py", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    add = parser.add_argument
    add("--holders", type=base.positive_int, default=50_000, help="holders per run (50000)")
    add(
        "--processes",
        type=base.positive_int,
        nargs="+",
        default=[1, 2],
        help="worker process counts, one run each (default: 1 2)",
    )
    add("--threads", type=base.positive_int, default=8, help="threads per worker process (8)")
    add("--database-url", default=DEFAULT_DATABASE_URL, help="database to (re)create and drop")
    add(
        "--ceiling-holders",
        type=base.positive_int,
        default=None,
        help="messages in the ceiling loop (default: --holders)",
    )
    add(
        "--ceiling-concurrency",
        type=base.positive_int,
        default=None,
        help="SMTP connections at a time in the ceiling loop (default: --threads, as many "
        "batches as one worker process runs at once; 1 = strictly sequential)",
    )
    add("--no-ceiling", action="store_true", help="skip the ceiling")
    add(
        "--rearm",
        action="store_true",
        help="quicker: only the first run cancels an event; later runs deliver its notice "
        "again (its deliveries and batch rows deleted, its fan-out row due again). Not the "
        "same work when the cancel wrote other jobs too (refunds): by default every run "
        "cancels a fresh event with its own holders",
    )
    add("--keep-logs", action="store_true", help="keep the work directory (logs, records)")
    add("--no-profile", action="store_true", help="skip profiling one batch")
    add("--keep-database", action="store_true", help="do not drop the database at the end")
    add("--timeout", type=float, default=1200.0, help="seconds to wait for all messages (1200)")
    add(
        "--stall-timeout",
        type=float,
        default=300.0,
        help="give up when no message arrived for this long (default: 300 s)",
    )
    add(
        "--worker-env",
        action="append",
        default=[],
        metavar="BOXOFFICE_X=VALUE",
        help="an extra setting for the worker, e.g. BOXOFFICE_DATABASE_POOL_SIZE=20",
    )
    add("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    args = parser.parse_args(argv)
    if args.ceiling_concurrency is None:
        args.ceiling_concurrency = args.threads
    for item in args.worker_env:
        if not re.fullmatch(r"BOXOFFICE_[A-Z0-9_]+=.*", item):
            parser.error(f"--worker-env {item!r}: expected BOXOFFICE_NAME=VALUE")
    return args


def _cores(cpu: dict[str, Any], name: str) -> str:
    group = cpu["groups"].get(name)
    return "" if group is None else f"{group['cpu_s']:.1f} s ({group['cores']:.2f})"


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def print_tables(runs: list[dict[str, Any]], ceiling: dict[str, Any] | None) -> None:
    ceiling_rate = ceiling["messages_per_s"] if ceiling else None
    print(
        "\n| worker processes | threads | holders | trigger | cancel request s | messages/s "
        "| seconds (commit → last message) | ceiling msg/s | ratio | valid |"
    )
    print("|---:|---:|---:|---|---:|---:|---:|---:|---:|---|")
    for run in runs:
        ratio = f"{run['messages_per_s'] / ceiling_rate * 100:.1f} %" if ceiling_rate else "n/a"
        print(
            f"| {run['processes']} | {run['threads']} | {run['holders']:,} | {run['trigger']} "
            f"| {_num(run['cancel_request_s'])} | {run['messages_per_s']:,.0f} "
            f"| {run['delivery_s']:,.1f} | {_num(ceiling_rate, 0)} | {ratio} "
            f"| {'yes' if run['outcome']['valid'] else '**NO**'} |"
        )
    print(
        "\n| worker processes | first message s | fan-out done s | msg/s first → last "
        "| batch p50 / p95 / max s | batch queue wait p50 / p95 s | relay lag p50 s |"
    )
    print("|---:|---:|---:|---:|---|---|---:|")
    for run in runs:
        b, w, r = run["batch_duration"], run["batch_queue_wait"], run["relay_lag"]
        print(
            f"| {run['processes']} | {_num(run['first_message_after_commit_s'])} "
            f"| {_num(run['fan_out_done_after_commit_s'])} "
            f"| {run['messages_per_s_sending']:,.0f} "
            f"| {_num(b['p50_s'], 2)} / {_num(b['p95_s'], 2)} / {_num(b['max_s'], 2)} "
            f"| {_num(w['p50_s'], 2)} / {_num(w['p95_s'], 2)} | {_num(r['p50_s'], 2)} |"
        )
    names = list(runs[0]["cpu_delivery"]["groups"]) if runs else []
    print("\nCPU while delivering (from the commit to the last message): s (cores busy)")
    print("| party | " + " | ".join(f"{r['processes']} process(es)" for r in runs) + " |")
    print("|---|" + "---:|" * len(runs))
    for name in names:
        print(f"| {name} | " + " | ".join(_cores(r["cpu_delivery"], name) for r in runs) + " |")
    machines = [r["cpu_delivery"]["machine"] for r in runs]
    print(
        "| whole machine | "
        + " | ".join(f"{m['cpu_s']:.1f} s ({m['cores']:.2f})" for m in machines)
        + " |"
    )
    for run in runs:
        if run["cpu_cancel"]:
            print(f"\nCPU during the cancel request ({run['cancel_request_s']:.1f} s): s (cores)")
            for name, group in run["cpu_cancel"]["groups"].items():
                print(f"  {name}: {group['cpu_s']:.1f} s ({group['cores']:.2f})")
    if ceiling:
        print(f"\nCPU of the ceiling loop ({ceiling['loop_s']:.1f} s): s (cores)")
        for name, group in ceiling["cpu"]["groups"].items():
            print(f"  {name}: {group['cpu_s']:.1f} s ({group['cores']:.2f})")


def run(args: argparse.Namespace) -> int:
    src_state = flash._src_state()
    if src_state:
        print(f"warning: uncommitted changes under src/ (the numbers describe them):\n{src_state}")
    target = base.parse_database_url(args.database_url)
    output_path: Path = args.output.resolve()
    args.secret_key = secrets.token_hex(32)
    stack = Stack()
    started = time.monotonic()
    try:
        postgres_version = base.postgres_admin(
            target,
            [
                f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)',
                f'CREATE DATABASE "{target.database}"',
            ],
        )
        if not args.keep_database:

            def drop_database() -> None:
                base.postgres_admin(
                    target, [f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)']
                )

            stack.push("database", drop_database)
        workdir = Path(tempfile.mkdtemp(prefix="boxoffice-fanout-"))
        if not args.keep_logs:
            stack.push("workdir", lambda: shutil.rmtree(workdir, ignore_errors=True))
        args.var_dir = workdir / "var"
        print(f"PostgreSQL {postgres_version}; database {target.database}; work dir {workdir}")
        redis = PrivateRedis(workdir / "redis")
        (workdir / "redis").mkdir(parents=True, exist_ok=True)
        redis.start()
        stack.push("redis", redis.stop)
        redis_pid = redis.proc.process.pid if redis.proc else None
        print(f"  private redis-server on {redis.url}")
        env_server = server_env(args, redis.url)
        base.run_cli(["migrate"], env_server)
        command = [
            str(base.venv_bin("boxoffice")), "serve",
            "--host", HOST, "--port", str(APP_PORT), "--workers", "1",
        ]  # fmt: skip
        if base.port_in_use(APP_PORT):
            raise base.BenchError(f"port {APP_PORT} is already in use")
        print(f"  {shlex.join(command)}", flush=True)
        server = start_process("app", command, env_server, workdir / "server.log")
        stack.push("app", lambda: base.stop_server(server))
        base_url = f"http://{HOST}:{APP_PORT}"
        base.wait_ready(server, f"{base_url}/readyz")
        organizer = asyncio.run(_organizer(base_url))
        env = Env(args, target, workdir, redis.url, redis_pid, server, base_url, organizer)

        runs: list[dict[str, Any]] = []
        for processes in args.processes:
            again = runs[-1]["event_id"] if runs and args.rearm else None
            runs.append(measure_run(env, stack, processes, again, len(runs) + 1))
        ceiling = None if args.no_ceiling else measure_ceiling(env, stack, runs[-1]["event_id"])
        if ceiling is not None:
            for result in runs:
                result["ratio_to_ceiling"] = round(
                    result["messages_per_s"] / ceiling["messages_per_s"], 4
                )
        profile = None if args.no_profile else profile_batch(env, stack, runs[-1]["event_id"])
    finally:
        stack.close()

    report = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join([sys.executable, *sys.argv]),
        "git": {**base.git_info(), "src_changed_during_run": src_state != flash._src_state()},
        "src_uncommitted": src_state,
        "machine": {
            "nproc": len(os.sched_getaffinity(0)),
            "cpu_model": base._proc_field("/proc/cpuinfo", "model name"),
            "python": sys.version.split()[0],
        },
        "postgresql": postgres_version,
        "parameters": {
            key: str(value) if isinstance(value, Path) else value
            for key, value in vars(args).items()
            if key != "secret_key"
        },
        "runs": runs,
        "ceiling": ceiling,
        "profile": profile,
        "wall_s": round(time.monotonic() - started, 1),
    }
    output_path.parent.mkdir(parents=True, exist_ok=True)
    output_path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    print_tables(runs, ceiling)
    print(f"\nWhole benchmark: {report['wall_s']:.0f} s. Results written to {output_path}")
    valid = all(r["outcome"]["valid"] for r in runs)
    if not valid:
        for r in runs:
            if not r["outcome"]["valid"]:
                print(f"NOT VALID ({r['processes']} process(es)): {r['outcome']}")
    return 0 if valid else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with base.interrupts_as_keyboard_interrupt():
        try:
            return run(args)
        except base.BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\ninterrupted; everything started was stopped", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
