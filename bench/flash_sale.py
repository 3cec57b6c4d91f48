"""Flash-sale benchmark: 10,000 one-seat order attempts for 1,000 seats, 200 at a time.

    .venv/bin/python bench/flash_sale.py [--seats 1000] [--attempts 10000] [--concurrency 200]
        [--buyers 200] [--workers 2] [--pool-size 10] [--threads 2]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/boxoffice_flash_bench]
        [--redis-url redis://127.0.0.1:6379/15] [--pgbench-clients 50] [--pgbench-duration 10]
        [--server-env BOXOFFICE_X=VALUE ...] [--no-warmup] [--output bench/results/flash_sale.json]

What one run does (``make bench-flash``):

1. Recreates the database, migrates it and starts ``boxoffice serve`` (production settings:
   ``BOXOFFICE_ENV=production``, log level warning, the Redis cache, ``--workers`` granian
   workers) on 127.0.0.1:8721. Only the registration rate limits are raised, because one
   address registers all the buyers; orders have no rate limit.
2. Through the API: an organizer, an organization, a published event with one ticket type of
   ``--seats`` seats, and ``--buyers`` buyers (registration is not measured). Warms the server
   up with 2 x ``--concurrency`` orders on a separate event with plenty of seats.
3. Runs wrk (``bench/wrk/flash_sale.lua``): exactly ``--attempts`` POST /events/{id}/orders,
   one seat each, ``--concurrency`` connections, buyers' tokens in rotation. Meanwhile it samples
   what the database sessions are doing (``pg_stat_activity``, every 50 ms) and afterwards
   reports the CPU time each party used (/proc: the server's processes, the PostgreSQL backends
   of this database and its background processes, Redis, wrk, the whole machine).
4. Checks the outcome in the database: successes = seats, no oversell, counters = rows.
5. Stops the server and measures the ceiling: pgbench running the bare conditional UPDATE
   ``UPDATE … SET held = held + 1 WHERE id = 1 AND sold + held + 1 <= quantity`` on one hot row
   of a scratch table (huge quantity), with as many clients as max_connections allows (at most
   ``--pgbench-clients``), for ``--pgbench-duration`` seconds.
6. Prints a JSON summary and a Markdown table and writes the JSON to ``--output``.

Exit status: 0 when every seat was sold exactly once with no 5xx; 1 otherwise (or on errors);
2 without wrk or pgbench; 130 when interrupted. See docs/benchmarks.md, "Flash sale".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as base

ROOT = base.ROOT
HOST = "127.0.0.1"
APP_PORT = 8721
API = "/api/v1"
DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/boxoffice_flash_bench"
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "flash_sale.json"
LUA_SCRIPT = base.WRK_DIR / "flash_sale.lua"
PASSWORD = "flash-sale-bench-9"
GENEROUS_LIMIT = "1000000/minute"
WRK_TIMEOUT = "30s"
WRK_MAX_DURATION_S = 900
SAMPLE_INTERVAL_S = 0.05
PGBENCH_RESERVE = 10  # connections left free for others when sizing pgbench's -c
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------------
# Setup through the API


@dataclass
class Sale:
    event_id: str
    ticket_type_id: str


@dataclass
class Crew:
    organizer: dict[str, str]
    org_id: str
    buyer_tokens: list[str]


async def _register(client: httpx.AsyncClient, name: str) -> str:
    response = await client.post(
        f"{API}/auth/register",
        json={
            "email": f"flash-{uuid.uuid4().hex[:12]}@example.com",
            "password": PASSWORD,
            "name": name,
        },
    )
    if response.status_code != 201:
        raise base.BenchError(f"register: HTTP {response.status_code}: {response.text[:300]}")
    token: str = response.json()["access_token"]
    return token


async def _crew(base_url: str, buyers: int) -> Crew:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        gate = asyncio.Semaphore(8)

        async def register(name: str) -> str:
            async with gate:
                return await _register(client, name)

        tokens = await asyncio.gather(
            register("Organizer"), *(register(f"Buyer {i}") for i in range(buyers))
        )
        organizer = {"Authorization": f"Bearer {tokens[0]}"}
        response = await client.post(
            f"{API}/organizations", json={"name": "Flash Sales"}, headers=organizer
        )
        if response.status_code != 201:
            raise base.BenchError(f"organization: HTTP {response.status_code}: {response.text}")
        return Crew(organizer, response.json()["id"], list(tokens[1:]))


async def _sale(base_url: str, crew: Crew, title: str, seats: int) -> Sale:
    starts = datetime.now(UTC) + timedelta(days=30)
    event = {
        "title": title,
        "description": "Everyone wants a ticket.",
        "category": "music",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=3)).isoformat(),
        "timezone": "Europe/Berlin",
    }
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        response = await client.post(
            f"{API}/organizations/{crew.org_id}/events", json=event, headers=crew.organizer
        )
        if response.status_code != 201:
            raise base.BenchError(f"event: HTTP {response.status_code}: {response.text}")
        event_id = response.json()["id"]
        response = await client.post(
            f"{API}/events/{event_id}/ticket-types",
            json={"name": "Standing", "price_amount": 4900, "currency": "EUR", "quantity": seats},
            headers=crew.organizer,
        )
        if response.status_code != 201:
            raise base.BenchError(f"ticket type: HTTP {response.status_code}: {response.text}")
        ticket_type_id = response.json()["id"]
        response = await client.post(f"{API}/events/{event_id}/publish", headers=crew.organizer)
        if response.status_code != 200:
            raise base.BenchError(f"publish: HTTP {response.status_code}: {response.text}")
    return Sale(event_id, ticket_type_id)


SEQUENTIAL_PROBES = 40


def sequential_latency(base_url: str, token: str, sale: Sale, count: int) -> dict[str, Any]:
    """One order at a time (nothing else running): the service time of one request."""
    body = {"items": [{"ticket_type_id": sale.ticket_type_id, "quantity": 1}]}
    headers = {"Authorization": f"Bearer {token}"}
    timings: list[float] = []
    statuses: Counter[int] = Counter()
    with httpx.Client(base_url=base_url, timeout=30) as client:
        client.get("/healthz")
        for _ in range(count):
            started = time.perf_counter()
            response = client.post(
                f"{API}/events/{sale.event_id}/orders", json=body, headers=headers
            )
            timings.append((time.perf_counter() - started) * 1000)
            statuses[response.status_code] += 1
    timings.sort()
    return {
        "requests": count,
        "statuses": dict(statuses),
        "p50_ms": round(timings[len(timings) // 2], 2),
        "min_ms": round(timings[0], 2),
        "mean_ms": round(sum(timings) / len(timings), 2),
    }


# --------------------------------------------------------------------------------------------
# wrk


def wrk_command(
    wrk: Path, args: argparse.Namespace, workdir: Path, sale: Sale, attempts: int
) -> list[str]:
    tokens_file = workdir / "tokens.txt"
    body_file = workdir / f"body-{sale.ticket_type_id}.json"
    body_file.write_text(
        json.dumps({"items": [{"ticket_type_id": sale.ticket_type_id, "quantity": 1}]}),
        encoding="utf-8",
    )
    return [
        str(wrk), "--latency",
        "-t", str(args.threads), "-c", str(args.concurrency),
        "-d", f"{WRK_MAX_DURATION_S}s", "--timeout", WRK_TIMEOUT,
        "-s", str(LUA_SCRIPT), f"http://{HOST}:{APP_PORT}",
        "--", str(tokens_file), f"{API}/events/{sale.event_id}/orders", str(body_file),
        str(attempts), str(args.threads),
    ]  # fmt: skip


@dataclass
class WrkRun:
    command: list[str]
    wall_s: float
    result: dict[str, Any]
    output: str
    pid: int


def run_wrk(command: list[str], threads: int) -> WrkRun:
    """Run wrk until each thread has printed FLASH_THREAD_DONE, then SIGINT it (wrk would
    otherwise sleep for its whole -d) and parse the FLASH_JSON line that done() prints."""
    started = time.monotonic()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
    )
    lines: list[str] = []
    finished = 0
    wall = 0.0
    timer = threading.Timer(WRK_MAX_DURATION_S + 60, process.kill)
    timer.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("FLASH_THREAD_DONE"):
                finished += 1
                if finished == threads:
                    wall = time.monotonic() - started
                    process.send_signal(signal.SIGINT)
        process.wait()
    finally:
        timer.cancel()
    output = "".join(lines)
    if finished < threads:
        raise base.BenchError(f"wrk ended before every thread was done:\n{output}")
    match = re.search(r"^FLASH_JSON (\{.*\})$", output, re.M)
    if match is None:
        raise base.BenchError(f"no FLASH_JSON line in wrk's output:\n{output}")
    return WrkRun(command, wall, json.loads(match.group(1)), output, process.pid)


# --------------------------------------------------------------------------------------------
# CPU accounting (/proc) and what the database sessions do (pg_stat_activity)


def cpu_seconds(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def process_group(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                pids.append(int(entry.name))
    return pids


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


class CpuMeter:
    """CPU seconds used between ``start`` and ``stop`` by named groups of processes. A process
    that appears meanwhile counts from zero; ``poll`` (called every 50 ms during the run)
    keeps the last reading of each process, so one that ends before ``stop`` still counts."""

    def __init__(self) -> None:
        self.before: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.machine_before = (0.0, 0.0)
        self.wall_before = 0.0

    def start(self, pids: list[int]) -> None:
        self.before = {pid: cpu for pid in pids if (cpu := cpu_seconds(pid)) is not None}
        self.last = dict(self.before)
        self.machine_before = machine_busy_seconds()
        self.wall_before = time.monotonic()

    def poll(self, pids: list[int]) -> None:
        for pid in pids:
            if (cpu := cpu_seconds(pid)) is not None:
                self.last[pid] = cpu

    def stop(self, groups: dict[str, list[int]]) -> dict[str, Any]:
        wall = time.monotonic() - self.wall_before
        busy, total = machine_busy_seconds()
        report: dict[str, Any] = {"wall_s": round(wall, 3), "groups": {}}
        for name, pids in groups.items():
            self.poll(pids)
            used = sum(
                self.last[pid] - self.before.get(pid, 0.0) for pid in set(pids) if pid in self.last
            )
            report["groups"][name] = {
                "cpu_s": round(used, 2),
                "cores": round(used / wall, 2) if wall else None,
                "processes": len(set(pids)),
            }
        machine_busy = busy - self.machine_before[0]
        report["machine"] = {
            "cpu_s": round(machine_busy, 2),
            "cores": round(machine_busy / wall, 2) if wall else None,
            "capacity_cores": round((total - self.machine_before[1]) / wall, 2) if wall else None,
        }
        return report


DATABASE_STATS = ("sessions", "xact_commit", "xact_rollback")


async def _pg_pids(target: base.PgTarget) -> dict[str, Any]:
    import asyncpg  # noqa: PLC0415

    conn = await asyncpg.connect(
        host=target.host, port=target.port, user=target.user, password=target.password,
        database="postgres",
    )  # fmt: skip
    try:
        rows = await conn.fetch(
            "SELECT pid, datname, backend_type FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
        )
        stats = await conn.fetchrow(
            f"SELECT {', '.join(DATABASE_STATS)} FROM pg_stat_database WHERE datname = $1",
            target.database,
        )
    finally:
        await conn.close()
    return {
        "postgres_backends": [
            r["pid"]
            for r in rows
            if r["datname"] == target.database and r["backend_type"] == "client backend"
        ],
        "postgres_background": [r["pid"] for r in rows if r["backend_type"] != "client backend"],
        "stats": {name: int(stats[name] or 0) for name in DATABASE_STATS} if stats else {},
    }


def pg_pids(target: base.PgTarget) -> dict[str, Any]:
    """The PostgreSQL processes (this database's backends, the background ones) and the
    database's session and transaction counters (pg_stat_database)."""
    return asyncio.run(_pg_pids(target))


ACTIVITY_SQL = """
WITH s AS (
    SELECT pid, state, wait_event_type, wait_event FROM pg_stat_activity
    WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()
), blockers AS (
    SELECT DISTINCT unnest(pg_blocking_pids(pid)) AS pid FROM s WHERE wait_event_type = 'Lock'
)
SELECT s.state, s.wait_event_type, s.wait_event,
       s.pid IN (SELECT pid FROM blockers) AS blocking, count(*) AS n
FROM s GROUP BY 1, 2, 3, 4
"""


def _activity_label(state: str | None, wait_type: str | None, wait_event: str | None) -> str:
    label = state or "?"
    if wait_type and wait_type != "Client":  # Client:ClientRead is how idle looks
        label += f" ({wait_type}:{wait_event})"
    return label


class ActivitySampler(threading.Thread):
    """Every SAMPLE_INTERVAL_S, counts this database's sessions by what they are doing —
    ``active`` (running a statement; waiting for a row lock shows as ``Lock:…``), ``idle in
    transaction`` (PostgreSQL is done and waits for the app's next statement), ``idle`` — and,
    whenever some session waits for a lock, what the session at the head of the queue (the
    holder, not itself waiting for a lock) is doing."""

    def __init__(self, target: base.PgTarget) -> None:
        super().__init__(daemon=True, name="pg-activity-sampler")
        self.target = target
        self.counts: Counter[str] = Counter()
        self.holders: Counter[str] = Counter()
        self.samples = 0
        self.samples_with_waiters = 0
        self.pids: set[int] = set()
        self.stopping = threading.Event()
        self.error: str | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._sample())
        except Exception as exc:  # reported, never fatal: this is a diagnostic
            self.error = repr(exc)

    async def _sample(self) -> None:
        import asyncpg  # noqa: PLC0415

        t = self.target
        conn = await asyncpg.connect(
            host=t.host, port=t.port, user=t.user, password=t.password, database=t.database
        )
        try:
            while not self.stopping.is_set():
                rows = await conn.fetch(ACTIVITY_SQL, t.database)
                self.pids.update(
                    await conn.fetchval(
                        "SELECT coalesce(array_agg(pid), '{}') FROM pg_stat_activity "
                        "WHERE datname = $1 AND backend_type = 'client backend' "
                        "AND pid <> pg_backend_pid()",
                        t.database,
                    )
                )
                waiting = False
                for row in rows:
                    label = _activity_label(row["state"], row["wait_event_type"], row["wait_event"])
                    self.counts[label] += row["n"]
                    waiting = waiting or row["wait_event_type"] == "Lock"
                    if row["blocking"] and row["wait_event_type"] != "Lock":
                        self.holders[label] += row["n"]
                self.samples += 1
                self.samples_with_waiters += waiting
                await asyncio.sleep(SAMPLE_INTERVAL_S)
        finally:
            await conn.close()

    def report(self) -> dict[str, Any]:
        samples = max(self.samples, 1)
        with_waiters = max(self.samples_with_waiters, 1)
        return {
            "samples": self.samples,
            "interval_s": SAMPLE_INTERVAL_S,
            "error": self.error,
            "mean_sessions": {
                label: round(count / samples, 2) for label, count in self.counts.most_common()
            },
            "samples_with_lock_waiters": self.samples_with_waiters,
            "lock_holder_state_share": {
                label: round(count / with_waiters, 3) for label, count in self.holders.most_common()
            },
        }


# --------------------------------------------------------------------------------------------
# Outcome in the database


async def _outcome(target: base.PgTarget, sale: Sale) -> dict[str, Any]:
    import asyncpg  # noqa: PLC0415

    conn = await asyncpg.connect(
        host=target.host, port=target.port, user=target.user, password=target.password,
        database=target.database,
    )  # fmt: skip
    try:
        tt = await conn.fetchrow(
            "SELECT quantity, sold, held FROM ticket_types WHERE id = $1",
            uuid.UUID(sale.ticket_type_id),
        )
        event = await conn.fetchrow(
            "SELECT capacity, sold, held FROM events WHERE id = $1", uuid.UUID(sale.event_id)
        )
        rows = await conn.fetchrow(
            "SELECT count(DISTINCT o.id) AS orders, "
            "coalesce(sum(i.quantity) FILTER (WHERE o.status = 'pending'), 0) AS held, "
            "coalesce(sum(i.quantity) FILTER (WHERE o.status = 'confirmed'), 0) AS sold, "
            "min(o.created_at) AS first, max(o.created_at) AS last "
            "FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.event_id = $1",
            uuid.UUID(sale.event_id),
        )
    finally:
        await conn.close()
    assert tt is not None and event is not None and rows is not None
    window = (rows["last"] - rows["first"]).total_seconds() if rows["orders"] > 1 else None
    return {
        "quantity": tt["quantity"],
        "counters": {
            "ticket_type": [tt["sold"], tt["held"]],
            "event": [event["sold"], event["held"]],
        },
        "rows": {"orders": rows["orders"], "sold": rows["sold"], "held": rows["held"]},
        "selling_window_s": window,
    }


# --------------------------------------------------------------------------------------------
# The ceiling: pgbench on one hot row

CEILING_TABLE = "flash_ceiling"
CEILING_SQL = (
    f"UPDATE {CEILING_TABLE} SET held = held + 1 WHERE id = 1 AND sold + held + 1 <= quantity;\n"
)


async def _prepare_ceiling(target: base.PgTarget) -> tuple[int, int]:
    """Create the scratch table; return (max_connections, client connections in use)."""
    import asyncpg  # noqa: PLC0415

    conn = await asyncpg.connect(
        host=target.host, port=target.port, user=target.user, password=target.password,
        database=target.database,
    )  # fmt: skip
    try:
        await conn.execute(f"DROP TABLE IF EXISTS {CEILING_TABLE}")
        await conn.execute(
            f"CREATE TABLE {CEILING_TABLE} (id integer PRIMARY KEY, quantity bigint NOT NULL, "
            "sold bigint NOT NULL DEFAULT 0, held bigint NOT NULL DEFAULT 0, "
            "CHECK (sold >= 0 AND held >= 0), CHECK (sold + held <= quantity))"
        )
        await conn.execute(f"INSERT INTO {CEILING_TABLE} (id, quantity) VALUES (1, 1000000000000)")
        max_connections = int(await conn.fetchval("SHOW max_connections"))
        reserved = int(await conn.fetchval("SHOW superuser_reserved_connections"))
        in_use = int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
            )
        )
    finally:
        await conn.close()
    return max_connections - reserved, in_use


_TPS_RE = re.compile(r"^tps = (\d+(?:\.\d+)?) \(without initial connection time\)", re.M)
_LAT_RE = re.compile(r"^latency average = (\d+(?:\.\d+)?) ms", re.M)
_FAILED_RE = re.compile(r"^number of failed transactions: (\d+)", re.M)


def run_ceiling(args: argparse.Namespace, target: base.PgTarget, workdir: Path) -> dict[str, Any]:
    pgbench = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    usable, in_use = asyncio.run(_prepare_ceiling(target))
    clients = max(1, min(args.pgbench_clients, usable - in_use - PGBENCH_RESERVE))
    script = workdir / "ceiling.sql"
    script.write_text(CEILING_SQL, encoding="utf-8")
    command = [
        pgbench, "-n", "-M", "prepared", "-f", str(script),
        "-c", str(clients), "-j", str(min(2, clients)), "-T", str(args.pgbench_duration),
        "-h", target.host, "-p", str(target.port), "-U", target.user, target.database,
    ]  # fmt: skip
    print(f"  {shlex.join(command)}", flush=True)
    env = {**os.environ, **({"PGPASSWORD": target.password} if target.password else {})}
    completed = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=args.pgbench_duration + 120,
        check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise base.BenchError(f"pgbench exited with {completed.returncode}:\n{completed.stderr}")
    tps = _TPS_RE.search(completed.stdout)
    if tps is None:
        raise base.BenchError(f"no tps in pgbench's output:\n{completed.stdout}")
    latency = _LAT_RE.search(completed.stdout)
    failed = _FAILED_RE.search(completed.stdout)
    return {
        "command": shlex.join(command),
        "clients": clients,
        "clients_allowed": usable - in_use - PGBENCH_RESERVE,
        "tps": float(tps.group(1)),
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "failed": int(failed.group(1)) if failed else 0,
        "output": completed.stdout,
    }


# --------------------------------------------------------------------------------------------
# Main


def server_env(args: argparse.Namespace) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")},
        "BOXOFFICE_DATABASE_URL": args.database_url,
        "BOXOFFICE_REDIS_URL": args.redis_url,
        "BOXOFFICE_ENV": "production",
        "BOXOFFICE_SECRET_KEY": secrets.token_hex(32),
        "BOXOFFICE_LOG_LEVEL": "warning",
        "BOXOFFICE_DATABASE_POOL_SIZE": str(args.pool_size),
        "BOXOFFICE_VAR_DIR": str(args.var_dir),
        # One address registers every buyer before the measurement; orders have no limit.
        "BOXOFFICE_RATE_LIMIT_REGISTER": GENEROUS_LIMIT,
        "BOXOFFICE_RATE_LIMIT_REGISTER_IP": GENEROUS_LIMIT,
        **dict(item.split("=", 1) for item in args.server_env),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/flash_sale.py", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    add = parser.add_argument
    add("--seats", type=base.positive_int, default=1000, help="seats on sale (default: 1000)")
    add("--attempts", type=base.positive_int, default=10_000, help="order attempts (10000)")
    add("--concurrency", type=base.positive_int, default=200, help="wrk connections (200)")
    add("--threads", type=base.positive_int, default=2, help="wrk threads (default: 2)")
    add("--buyers", type=base.positive_int, default=200, help="registered buyers (200)")
    add("--workers", type=base.positive_int, default=2, help="granian workers (default: 2)")
    add(
        "--pool-size",
        type=base.positive_int,
        default=10,
        help="BOXOFFICE_DATABASE_POOL_SIZE per worker (default: 10, the production default)",
    )
    add("--database-url", default=DEFAULT_DATABASE_URL, help="database to (re)create")
    add("--redis-url", default=base.DEFAULT_REDIS_URL, help="Redis for the app")
    add("--pgbench-clients", type=base.positive_int, default=50, help="at most (default: 50)")
    add("--pgbench-duration", type=base.positive_int, default=10, help="seconds (default: 10)")
    add("--no-warmup", action="store_true", help="skip the warm-up orders")
    add(
        "--server-env",
        action="append",
        default=[],
        metavar="BOXOFFICE_X=VALUE",
        help="an extra setting for the server, e.g. BOXOFFICE_DATABASE_PRE_PING=false "
        "(repeatable; other BOXOFFICE_ variables of this shell are not passed on)",
    )
    add("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    args = parser.parse_args(argv)
    for item in args.server_env:
        if not re.fullmatch(r"BOXOFFICE_[A-Z0-9_]+=.*", item):
            parser.error(f"--server-env {item!r}: expected BOXOFFICE_NAME=VALUE")
    if args.concurrency < args.threads:
        parser.error("--concurrency must be at least --threads")
    return args


def _ms(microseconds: float) -> float:
    return round(microseconds / 1000, 2)


def summarize(
    args: argparse.Namespace,
    wrk_run: WrkRun,
    outcome: dict[str, Any],
    ceiling: dict[str, Any],
) -> dict[str, Any]:
    r = wrk_run.result
    created = r["created"]
    window = outcome["selling_window_s"]
    orders_per_s = (created - 1) / window if window else None
    attempts_per_s = r["requests"] / (r["duration_us"] / 1e6) if r["duration_us"] else None
    rows = outcome["rows"]
    tt_sold, tt_held = outcome["counters"]["ticket_type"]
    ev_sold, ev_held = outcome["counters"]["event"]
    counters_match = (tt_sold, tt_held) == (rows["sold"], rows["held"]) == (ev_sold, ev_held)
    ratio = orders_per_s / ceiling["tps"] if orders_per_s and ceiling.get("tps") else None
    return {
        "attempts": r["requests"],
        "successes": created,
        "sold_out_409": r["sold_out"],
        "other_4xx": r["conflict_other"] + r["unprocessable"] + r["client_error"],
        "status_5xx": r["server_error"],
        "socket_errors": r["socket_connect"]
        + r["socket_read"]
        + r["socket_write"]
        + r["socket_timeout"],
        "oversell": created - args.seats,
        "rows_seats": rows["held"] + rows["sold"],
        "counters_match_rows": counters_match,
        "selling_window_s": round(window, 3) if window else None,
        "orders_per_s": round(orders_per_s, 1) if orders_per_s else None,
        "attempts_per_s": round(attempts_per_s, 1) if attempts_per_s else None,
        "wall_s": round(wrk_run.wall_s, 3),
        "latency_ms": {
            "p50": _ms(r["p50_us"]),
            "p90": _ms(r["p90_us"]),
            "p99": _ms(r["p99_us"]),
            "max": _ms(r["max_us"]),
            "mean": _ms(r["mean_us"]),
        },
        "ceiling_tps": ceiling.get("tps"),
        "ceiling_clients": ceiling.get("clients"),
        "ratio_orders_to_ceiling": round(ratio, 4) if ratio else None,
    }


def print_tables(summary: dict[str, Any], cpu: dict[str, Any]) -> None:
    ratio = summary["ratio_orders_to_ceiling"]
    rows = [
        ("successful orders / s (selling window)", f"{summary['orders_per_s']:,.0f}"),
        ("attempts / s (whole run)", f"{summary['attempts_per_s']:,.0f}"),
        ("latency p50 / p99 (all attempts)", f"{summary['latency_ms']['p50']:.1f} / "
         f"{summary['latency_ms']['p99']:.1f} ms"),
        ("successes (201)", f"{summary['successes']:,}"),
        ("sold out (409)", f"{summary['sold_out_409']:,}"),
        ("oversell (successes - seats)", str(summary["oversell"])),
        ("counters = rows", "yes" if summary["counters_match_rows"] else "**NO**"),
        ("5xx / socket errors", f"{summary['status_5xx']} / {summary['socket_errors']}"),
        ("ceiling: pgbench hot-row UPDATE tps", f"{summary['ceiling_tps']:,.0f} "
         f"(-c {summary['ceiling_clients']})"),
        ("orders/s ÷ ceiling", "n/a" if ratio is None else f"{ratio * 100:.1f} %"),
    ]  # fmt: skip
    print("\n| measure | value |\n|---|---:|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print("\n| process group | CPU s | cores busy |\n|---|---:|---:|")
    for name, group in cpu["groups"].items():
        print(f"| {name} | {group['cpu_s']:.1f} | {group['cores']:.2f} |")
    machine = cpu["machine"]
    print(f"| whole machine | {machine['cpu_s']:.1f} | {machine['cores']:.2f} |")


def run(args: argparse.Namespace) -> int:
    wrk_path = shutil.which("wrk")
    if wrk_path is None:
        print("wrk is not installed. Install it with:\n    apt-get install -y wrk", file=sys.stderr)
        return 2
    if shutil.which("pgbench") is None and not Path("/usr/lib/postgresql/15/bin/pgbench").exists():
        print("pgbench is not installed (postgresql-client-15)", file=sys.stderr)
        return 2
    wrk = Path(wrk_path)
    src_state = _src_state()
    if src_state:
        print(
            f"warning: uncommitted changes under src/ — the numbers describe them too:\n{src_state}"
        )
    target = base.parse_database_url(args.database_url)
    output_path: Path = args.output.resolve()
    redis_version = base.prepare_redis(args.redis_url)
    postgres_version = base.postgres_admin(
        target,
        [
            f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)',
            f'CREATE DATABASE "{target.database}"',
        ],
    )
    print(f"PostgreSQL {postgres_version}, Redis {redis_version}; database {target.database}")
    with tempfile.TemporaryDirectory(prefix="boxoffice-flash-") as tmp:
        workdir = Path(tmp)
        args.var_dir = workdir / "var"
        env = server_env(args)
        base.run_cli(["migrate"], env)
        command = [
            str(base.venv_bin("boxoffice")), "serve",
            "--host", HOST, "--port", str(APP_PORT), "--workers", str(args.workers),
        ]  # fmt: skip
        deadline = time.monotonic() + 15  # a previous run's server may still be exiting
        while base.port_in_use(APP_PORT):
            if time.monotonic() > deadline:
                raise base.BenchError(f"port {APP_PORT} is already in use")
            time.sleep(0.5)
        print(f"  starting the app: {shlex.join(command)}", flush=True)
        output_path.parent.mkdir(parents=True, exist_ok=True)
        server = base.start_server("app", command, env, output_path.parent / "flash-server.log")
        try:
            base_url = f"http://{HOST}:{APP_PORT}"
            base.wait_ready(server, f"{base_url}/readyz")
            started = time.monotonic()
            crew = asyncio.run(_crew(base_url, args.buyers))
            (workdir / "tokens.txt").write_text("\n".join(crew.buyer_tokens) + "\n")
            print(f"  registered {args.buyers} buyers in {time.monotonic() - started:.1f} s")
            if not args.no_warmup:
                warm = asyncio.run(_sale(base_url, crew, "Warm-up", 10 * args.concurrency))
                warm_run = run_wrk(
                    wrk_command(wrk, args, workdir, warm, 2 * args.concurrency), args.threads
                )
                print(
                    f"  warm-up: {warm_run.result['requests']} orders in {warm_run.wall_s:.1f} s"
                    f" ({warm_run.result['created']} x 201)"
                )
            probes: dict[str, Any] = {}
            if not args.no_warmup:
                token = crew.buyer_tokens[0]
                probes["seat_available"] = sequential_latency(
                    base_url, token, warm, SEQUENTIAL_PROBES
                )
                tiny = asyncio.run(_sale(base_url, crew, "Probe", 1))
                sequential_latency(base_url, token, tiny, 1)
                probes["sold_out"] = sequential_latency(base_url, token, tiny, SEQUENTIAL_PROBES)
                for name, probe in probes.items():
                    print(f"  one at a time, {name}: p50 {probe['p50_ms']} ms {probe['statuses']}")
            sale = asyncio.run(_sale(base_url, crew, "Flash sale", args.seats))
            command_wrk = wrk_command(wrk, args, workdir, sale, args.attempts)
            print(f"  {shlex.join(command_wrk)}", flush=True)
            meter = CpuMeter()
            pids = pg_pids(target)
            server_pids = process_group(server.process.pid)
            redis_pid = _redis_pid(args.redis_url)
            redis_pids = [redis_pid] if redis_pid else []
            meter.start(server_pids + pids["postgres_backends"] + pids["postgres_background"]
                        + redis_pids + [os.getpid()])  # fmt: skip
            sampler = ActivitySampler(target)
            sampler.start()
            seen_wrk: list[int] = []

            def tick(wrk_pid: int | None) -> None:
                if wrk_pid is not None and wrk_pid not in seen_wrk:
                    seen_wrk.append(wrk_pid)
                meter.poll(server_pids + sorted(sampler.pids) + seen_wrk)

            wrk_run = run_wrk_measured(command_wrk, args.threads, tick)
            sampler.stopping.set()
            after = pg_pids(target)
            cpu = meter.stop(
                {
                    "app server (granian + workers)": server_pids
                    + process_group(server.process.pid),
                    "PostgreSQL backends (this database)": pids["postgres_backends"]
                    + sorted(sampler.pids)
                    + after["postgres_backends"],
                    "PostgreSQL background (WAL writer, …)": after["postgres_background"],
                    "Redis": redis_pids,
                    "wrk": seen_wrk,
                    "this runner (sampling)": [os.getpid()],
                }
            )
            database_activity = {
                name: after["stats"].get(name, 0) - pids["stats"].get(name, 0)
                for name in DATABASE_STATS
            }
            others = cpu["machine"]["cpu_s"] - sum(g["cpu_s"] for g in cpu["groups"].values())
            cpu["groups"]["everything else on the machine"] = {
                "cpu_s": round(others, 2),
                "cores": round(others / cpu["wall_s"], 2),
                "processes": None,
            }
            sampler.join(timeout=5)
            outcome = asyncio.run(_outcome(target, sale))
        finally:
            base.stop_server(server)
        print("  ceiling: pgbench on one hot row", flush=True)
        ceiling = run_ceiling(args, target, workdir)

    summary = summarize(args, wrk_run, outcome, ceiling)
    src_state_after = _src_state()
    report = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join([sys.executable, *sys.argv]),
        "git": {**base.git_info(), "src_changed_during_run": src_state != src_state_after},
        "src_uncommitted": src_state_after,
        "machine": base.machine_info(wrk),
        "services": {"postgresql": postgres_version, "redis": redis_version},
        "parameters": {
            key: str(value) if isinstance(value, Path) else value
            for key, value in vars(args).items()
        },
        "summary": summary,
        "outcome": outcome,
        "cpu": cpu,
        # Connections PostgreSQL accepted for this database during the run, and transactions.
        "database_activity": database_activity,
        "app_cpu_ms_per_attempt": round(
            cpu["groups"]["app server (granian + workers)"]["cpu_s"] * 1000 / args.attempts, 2
        ),
        "sequential": probes,
        "pg_activity": sampler.report(),
        "wrk": {"command": shlex.join(wrk_run.command), "output": wrk_run.output},
        "ceiling": ceiling,
    }
    output_path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    print("\n" + json.dumps(summary, indent=2))
    print_tables(summary, cpu)
    activity = sampler.report()
    print("\nDatabase sessions of the app, mean over the run (pg_stat_activity):")
    for label, mean in activity["mean_sessions"].items():
        print(f"  {mean:6.2f}  {label}")
    print(
        f"Lock holders while others waited ({activity['samples_with_lock_waiters']} of "
        f"{activity['samples']} samples):"
    )
    for label, share in activity["lock_holder_state_share"].items():
        print(f"  {share * 100:5.1f} %  {label}")
    print(f"App CPU per attempt: {report['app_cpu_ms_per_attempt']} ms")
    print(f"Database during the run (pg_stat_database): {report['database_activity']}")
    print(f"\nResults written to {output_path}")
    valid = (
        summary["successes"] == args.seats
        and summary["rows_seats"] == args.seats
        and summary["counters_match_rows"]
        and summary["status_5xx"] == 0
    )
    if src_state or src_state_after:
        print("warning: src/ had uncommitted changes (see src_uncommitted in the JSON)")
    if not valid:
        print("NOT VALID: the sale did not sell every seat exactly once without errors")
    return 0 if valid else 1


def run_wrk_measured(
    command: list[str], threads: int, tick: Callable[[int | None], None]
) -> WrkRun:
    """run_wrk, calling ``tick(wrk's pid)`` every 50 ms while it runs."""
    result: list[WrkRun] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(run_wrk(command, threads))
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    wrk_pid: int | None = None
    while worker.is_alive():
        if wrk_pid is None:
            wrk_pid = _child_named("wrk")
        tick(wrk_pid)
        worker.join(timeout=SAMPLE_INTERVAL_S)
    if errors:
        raise errors[0]
    return result[0]


def _src_state() -> str:
    """``git status --porcelain src`` plus a hash of the diff: what the server ran, if not HEAD."""
    status = base._command_output(["git", "status", "--porcelain", "src"]) or ""
    diff = base._command_output(["git", "diff", "HEAD", "--", "src"]) or ""
    if not status:
        return ""
    import hashlib  # noqa: PLC0415

    return f"{status}\ndiff sha256 {hashlib.sha256(diff.encode()).hexdigest()[:16]}"


def _child_named(name: str) -> int | None:
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stat = (entry / "stat").read_text()
                comm = stat[stat.index("(") + 1 : stat.rindex(")")]
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                if comm == name and parent == me:
                    return int(entry.name)
    return None


def _redis_pid(url: str) -> int | None:
    import redis  # noqa: PLC0415

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        pid = client.info("server").get("process_id")
        return int(pid) if pid else None
    except redis.RedisError:
        return None
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with base.interrupts_as_keyboard_interrupt():
        try:
            return run(args)
        except base.BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\ninterrupted; server stopped", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
