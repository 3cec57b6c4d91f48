"""Boxoffice benchmark: wrk against the real app on PostgreSQL and against a bare ceiling app.

One command (``make bench`` calls it)::

    .venv/bin/python bench/run.py [--duration 15s] [--connections 64] [--threads 2]
        [--workers 2] [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/boxoffice_bench]
        [--redis-url redis://127.0.0.1:6379/15] [--skip-setup]
        [--output bench/results/latest.json] [--scenario NAME ...]

It (re)creates the benchmark database, migrates and seeds it with the demo data, starts
``boxoffice serve`` on 127.0.0.1:8701 and the ceiling app (``bench/ceiling_app.py``: bare
Starlette, one Redis GET) with granian and the same number of workers on 127.0.0.1:8702, runs
wrk on every scenario, then prints req/s, p50/p99 and each scenario's req/s as a percentage of
the ceiling's, measured in the same run. Servers are started only for the scenarios selected and
are always stopped (the whole process group), also on Ctrl-C. See docs/benchmarks.md.

To add a scenario, append a ``Scenario`` to ``SCENARIOS`` below.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any, Literal

ROOT = Path(__file__).resolve().parent.parent
WRK_DIR = ROOT / "bench" / "wrk"
HOST = "127.0.0.1"
APP_PORT = 8701
CEILING_PORT = 8702
CEILING_KEY = "boxoffice:bench:ceiling"
CEILING_DOCUMENT_BYTES = 1024

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/boxoffice_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "latest.json"

READY_TIMEOUT_S = 60.0
SETUP_TIMEOUT_S = 600.0
STOP_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 5.0
HTTP_TIMEOUT_S = 10.0
WRK_REQUEST_TIMEOUT = "10s"  # wrk --timeout: slower responses count as socket timeouts
MAX_EVENT_IDS = 10_000
MAX_ID_PAGES = 200

ServerName = Literal["app", "ceiling"]


class BenchError(Exception):
    """A failure that ends the run (or one scenario) with a one-line message."""


# --------------------------------------------------------------------------------------------
# Scenarios


@dataclass
class RunContext:
    """What a scenario's ``prepare`` hook may use: the parsed options, a temporary directory
    that lives for the whole run, the servers' base URLs and a cache shared between hooks."""

    args: argparse.Namespace
    workdir: Path
    base_urls: dict[ServerName, str]
    cache: dict[str, Any] = field(default_factory=dict)


# Called once the scenario's server is ready; returns the arguments passed to its wrk Lua
# script (after ``--``).
PrepareHook = Callable[[RunContext, "Scenario"], list[str]]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    # Request path. With a script, it is handed to the script by ``prepare`` (e.g. as a
    # template with ``{id}``) and wrk itself is pointed at the server's base URL.
    path: str
    server: ServerName = "app"
    script: str | None = None  # file name in bench/wrk/
    prepare: PrepareHook | None = None


def event_ids_prepare(ctx: RunContext, scenario: Scenario) -> list[str]:
    """Fetch the event ids once, write them one a line, pass ``IDS_FILE PATH_TEMPLATE``."""
    ids_file = ctx.workdir / "event_ids.txt"
    if "event_ids" not in ctx.cache:
        ids = fetch_event_ids(ctx.base_urls["app"])
        ids_file.write_text("\n".join(ids) + "\n", encoding="utf-8")
        ctx.cache["event_ids"] = ids
        print(f"    fetched {len(ids)} event ids for the Lua script")
    return [str(ids_file), scenario.path]


# The ceiling runs first so each later line can show its ratio as soon as it is measured.
SCENARIOS: list[Scenario] = [
    Scenario(
        name="ceiling",
        description="Bare Starlette + one Redis GET of a ~1 KB JSON document (the ceiling)",
        path="/ceiling",
        server="ceiling",
    ),
    Scenario(
        name="events_list",
        description="GET /api/v1/events: first page of the public event list",
        path="/api/v1/events",
    ),
    Scenario(
        name="events_filtered",
        description="GET /api/v1/events filtered by category and city, 20 a page",
        path="/api/v1/events?category=music&city=Berlin&limit=20",
    ),
    Scenario(
        name="event_detail",
        description="GET /api/v1/events/{id} with a random existing id per request",
        path="/api/v1/events/{id}",
        script="random_id.lua",
        prepare=event_ids_prepare,
    ),
]
CEILING = "ceiling"


# --------------------------------------------------------------------------------------------
# Small helpers


def duration_seconds(value: str) -> float:
    """Seconds in a wrk duration: ``15``, ``15s``, ``2m``, ``1h``."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smh]?)", value.strip())
    if not match:
        raise ValueError(f"not a duration: {value!r} (e.g. 15s, 2m)")
    number, unit = float(match.group(1)), match.group(2) or "s"
    return number * {"s": 1, "m": 60, "h": 3600}[unit]


def duration_arg(value: str) -> str:
    try:
        if duration_seconds(value) <= 0:
            raise ValueError("must be positive")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value.strip()


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def redact_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def venv_bin(name: str) -> Path:
    """An executable next to this interpreter (the project venv), else on PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return candidate
    found = shutil.which(name)
    if found is None:
        raise BenchError(
            f"`{name}` not found next to {sys.executable} nor on PATH; "
            "run with the project venv: .venv/bin/python bench/run.py"
        )
    return Path(found)


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((HOST, port)) == 0


def http_get(url: str, timeout: float = HTTP_TIMEOUT_S) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def fetch_event_ids(base_url: str) -> list[str]:
    """Follow ``next_cursor`` through ``/api/v1/events?limit=100&fields=id``."""
    ids: list[str] = []
    cursor: str | None = None
    for _ in range(MAX_ID_PAGES):
        query = {"limit": "100", "fields": "id"}
        if cursor:
            query["cursor"] = cursor
        url = f"{base_url}/api/v1/events?{urllib.parse.urlencode(query)}"
        try:
            status, body = http_get(url)
        except (OSError, urllib.error.URLError) as exc:
            raise BenchError(f"GET {url}: {exc}") from None
        if status != 200:
            raise BenchError(f"GET {url}: HTTP {status}: {body[:200]!r}")
        try:
            page = json.loads(body)
            ids.extend(str(item["id"]) for item in page["data"])
            cursor = page.get("next_cursor")
        except (ValueError, KeyError, TypeError) as exc:
            raise BenchError(f"GET {url}: unexpected response shape ({exc!r})") from None
        if not cursor or len(ids) >= MAX_EVENT_IDS:
            break
    if not ids:
        raise BenchError("the API listed no events: was the database seeded (seed --demo)?")
    return ids[:MAX_EVENT_IDS]


# --------------------------------------------------------------------------------------------
# wrk


@dataclass
class WrkResult:
    requests_per_sec: float
    latency_ms: dict[str, float]  # percentile ("50", "75", "90", "99") -> milliseconds
    requests: int
    duration_s: float
    non_2xx_3xx: int
    socket_errors: dict[str, int]

    @property
    def socket_error_count(self) -> int:
        return sum(self.socket_errors.values())


_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)%\s+(\d+(?:\.\d+)?)(us|ms|s|m|h)\s*$", re.M)
_RPS_RE = re.compile(r"^Requests/sec:\s+(\d+(?:\.\d+)?)", re.M)
_TOTAL_RE = re.compile(r"^\s*(\d+) requests in (\d+(?:\.\d+)?)(us|ms|s|m|h)", re.M)
_NON_2XX_RE = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_RE = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def parse_wrk_output(text: str) -> WrkResult:
    """Parse the text wrk prints with ``--latency``."""
    rps = _RPS_RE.search(text)
    total = _TOTAL_RE.search(text)
    if rps is None or total is None:
        raise BenchError("could not find Requests/sec in wrk output:\n" + text)
    latency = {
        match.group(1).removesuffix(".00").removesuffix(".0"): float(match.group(2))
        * _TIME_UNITS_MS[match.group(3)]
        for match in _PERCENTILE_RE.finditer(text)
    }
    if "50" not in latency or "99" not in latency:
        raise BenchError("no Latency Distribution in wrk output (was --latency given?):\n" + text)
    non_2xx = _NON_2XX_RE.search(text)
    sock = _SOCKET_RE.search(text)
    socket_errors = dict.fromkeys(("connect", "read", "write", "timeout"), 0)
    if sock is not None:
        socket_errors = dict(zip(socket_errors, map(int, sock.groups()), strict=True))
    return WrkResult(
        requests_per_sec=float(rps.group(1)),
        latency_ms=latency,
        requests=int(total.group(1)),
        duration_s=float(total.group(2)) * _TIME_UNITS_MS[total.group(3)] / 1000.0,
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=socket_errors,
    )


def wrk_command(
    wrk: Path,
    args: argparse.Namespace,
    duration: str,
    url: str,
    script: str | None,
    script_args: list[str],
) -> list[str]:
    command = [
        str(wrk), "--latency",
        "-t", str(args.threads), "-c", str(args.connections), "-d", duration,
        "--timeout", WRK_REQUEST_TIMEOUT,
    ]  # fmt: skip
    if script is not None:
        command += ["-s", str(WRK_DIR / script)]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    return command


def run_wrk(command: list[str], duration: str) -> str:
    timeout = duration_seconds(duration) + duration_seconds(WRK_REQUEST_TIMEOUT) + 30
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish within {timeout:.0f} s") from None
    if completed.returncode != 0:
        raise BenchError(
            f"wrk exited with {completed.returncode}: "
            f"{completed.stderr.strip() or completed.stdout.strip()}"
        )
    return completed.stdout


# --------------------------------------------------------------------------------------------
# Servers


@dataclass
class Server:
    name: ServerName
    command: list[str]
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]


def start_server(
    name: ServerName, command: list[str], env: dict[str, str], log_path: Path
) -> Server:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as a whole, not hit by Ctrl-C
    )
    return Server(name, command, process, log_path, log_file)


def stop_server(server: Server) -> None:
    """SIGTERM the whole process group, SIGKILL it if still there after STOP_TIMEOUT_S."""
    pgid = server.process.pid  # start_new_session: the group id is the leader's pid
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while (server.process.poll() is None or _group_alive(pgid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    if server.process.poll() is None or _group_alive(pgid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.process.wait(timeout=STOP_TIMEOUT_S)
    server.log_file.close()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_ready(server: Server, url: str, timeout: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(
                f"{server.name} server exited with {server.process.returncode} before it was "
                f"ready; last lines of {server.log_path}:\n{log_tail(server.log_path)}"
            )
        try:
            status, body = http_get(url, timeout=2.0)
        except (OSError, urllib.error.URLError) as exc:
            last_error = str(exc)
        else:
            if status == 200:
                return
            last_error = f"HTTP {status}: {body[:200]!r}"
        time.sleep(0.25)
    raise BenchError(
        f"{server.name} server not ready at {url} within {timeout:.0f} s ({last_error}); "
        f"last lines of {server.log_path}:\n{log_tail(server.log_path)}"
    )


class Servers:
    """Starts each server the first time a scenario needs it; stops it after its last one."""

    def __init__(self, args: argparse.Namespace, log_dir: Path) -> None:
        self.args = args
        self.log_dir = log_dir
        self.running: dict[ServerName, Server] = {}
        self.commands: dict[ServerName, str] = {}
        self.failed: dict[ServerName, str] = {}

    def ensure(self, name: ServerName) -> None:
        """Start the server unless it runs; a server that failed once is not tried again."""
        if name in self.running:
            return
        if name in self.failed:
            raise BenchError(f"the {name} server did not start: {self.failed[name]}")
        try:
            self._start(name)
        except BenchError as exc:
            self.failed[name] = str(exc).split("; last lines")[0].splitlines()[0]
            if name in self.running:
                stop_server(self.running.pop(name))
            raise

    def _start(self, name: ServerName) -> None:
        port = APP_PORT if name == "app" else CEILING_PORT
        if port_in_use(port):
            raise BenchError(f"port {port} is already in use: stop whatever listens there first")
        command, env, ready_url = self._app_spec() if name == "app" else self._ceiling_spec()
        print(f"  starting the {name} server: {shlex.join(command)}", flush=True)
        server = start_server(name, command, env, self.log_dir / f"{name}-server.log")
        self.running[name] = server
        self.commands[name] = shlex.join(command)
        wait_ready(server, ready_url)

    def release_unneeded(self, still_needed: set[ServerName]) -> None:
        for name in [name for name in self.running if name not in still_needed]:
            stop_server(self.running.pop(name))

    def stop_all(self) -> None:
        for name in list(self.running):
            stop_server(self.running.pop(name))

    def _app_spec(self) -> tuple[list[str], dict[str, str], str]:
        command = [
            str(venv_bin("boxoffice")), "serve",
            "--host", HOST, "--port", str(APP_PORT), "--workers", str(self.args.workers),
        ]  # fmt: skip
        env = {
            **os.environ,
            "BOXOFFICE_DATABASE_URL": self.args.database_url,
            "BOXOFFICE_REDIS_URL": self.args.redis_url,
            "BOXOFFICE_ENV": "production",
            "BOXOFFICE_SECRET_KEY": secrets.token_hex(32),
            "BOXOFFICE_LOG_LEVEL": "warning",
        }
        return command, env, f"http://{HOST}:{APP_PORT}/readyz"

    def _ceiling_spec(self) -> tuple[list[str], dict[str, str], str]:
        command = [
            str(venv_bin("granian")), "--interface", "asgi",
            "--workers", str(self.args.workers), "--host", HOST, "--port", str(CEILING_PORT),
            "--working-dir", str(ROOT), "--log-level", "warning", "--no-access-log",
            "bench.ceiling_app:app",
        ]  # fmt: skip
        env = {
            **os.environ,
            "BENCH_CEILING_REDIS_URL": self.args.redis_url,
            "BENCH_CEILING_KEY": CEILING_KEY,
        }
        return command, env, f"http://{HOST}:{CEILING_PORT}/ceiling"


# --------------------------------------------------------------------------------------------
# PostgreSQL, Redis, setup


@dataclass(frozen=True)
class PgTarget:
    host: str
    port: int
    user: str
    password: str | None
    database: str


def parse_database_url(url: str) -> PgTarget:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"postgresql+asyncpg", "postgresql", "postgres"}:
        raise BenchError(f"--database-url must be postgresql+asyncpg://…, got {redact_url(url)}")
    database = urllib.parse.unquote(parts.path.lstrip("/"))
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", database):
        raise BenchError(f"--database-url: database name {database!r} must be a plain identifier")
    if database == "postgres":
        raise BenchError("--database-url: refusing to drop and recreate the `postgres` database")
    return PgTarget(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=urllib.parse.unquote(parts.username or "postgres"),
        password=urllib.parse.unquote(parts.password) if parts.password else None,
        database=database,
    )


async def _pg_admin(target: PgTarget, statements: list[str]) -> str:
    import asyncpg  # noqa: PLC0415 - only needed when an app scenario runs

    conn = await asyncpg.connect(
        host=target.host,
        port=target.port,
        user=target.user,
        password=target.password,
        database="postgres",
        timeout=CONNECT_TIMEOUT_S,
    )
    try:
        for statement in statements:
            await conn.execute(statement, timeout=60)
        return str(await conn.fetchval("SHOW server_version", timeout=10))
    finally:
        await conn.close(timeout=5)


def postgres_admin(target: PgTarget, statements: list[str] | None = None) -> str:
    """Run statements on the ``postgres`` maintenance db; returns the server version."""
    try:
        return asyncio.run(_pg_admin(target, statements or []))
    except (OSError, TimeoutError) as exc:
        raise BenchError(
            f"PostgreSQL not reachable at {target.host}:{target.port} as {target.user}: {exc}"
        ) from None
    except Exception as exc:  # asyncpg's errors have no common stdlib base
        raise BenchError(f"PostgreSQL: {type(exc).__name__}: {exc}") from None


def ceiling_document() -> bytes:
    """A ~1 KB JSON document shaped like an event, padded to CEILING_DOCUMENT_BYTES."""
    import orjson  # noqa: PLC0415

    document: dict[str, Any] = {
        "id": "0192f0c4-7b7e-7c3a-9d2e-5b1f4a6c8e01",
        "slug": "berlin-summer-jazz-night",
        "title": "Berlin Summer Jazz Night",
        "category": "music",
        "city": "Berlin",
        "venue": {"name": "Kulturhaus Mitte", "address": "Auguststraße 21, 10117 Berlin"},
        "starts_at": "2025-07-12T19:30:00+02:00",
        "ends_at": "2025-07-12T23:00:00+02:00",
        "timezone": "Europe/Berlin",
        "status": "published",
        "organizer": {"id": "0192f0c4-7b7e-7c3a-9d2e-5b1f4a6c8e02", "name": "Demo Organizer"},
        "ticket_types": [
            {"name": "Standard", "price": "25.00", "currency": "EUR", "available": True},
            {"name": "Reduced", "price": "15.00", "currency": "EUR", "available": True},
        ],
        "description": "",
    }
    base = len(orjson.dumps(document))
    filler = "An evening of live jazz in the heart of Berlin. " * 30
    document["description"] = filler[: max(0, CEILING_DOCUMENT_BYTES - base)]
    return orjson.dumps(document)


def prepare_redis(url: str) -> str:
    """Check Redis answers and set the ceiling key; returns the server version."""
    import redis  # noqa: PLC0415

    client = redis.Redis.from_url(
        url, socket_timeout=CONNECT_TIMEOUT_S, socket_connect_timeout=CONNECT_TIMEOUT_S
    )
    try:
        client.ping()
        client.set(CEILING_KEY, ceiling_document())
        return str(client.info("server").get("redis_version", "?"))
    except redis.RedisError as exc:
        raise BenchError(f"Redis not reachable at {redact_url(url)}: {exc}") from None
    finally:
        client.close()


def run_cli(cli_args: list[str], env: dict[str, str]) -> None:
    command = [str(venv_bin("boxoffice")), *cli_args]
    print(f"  {shlex.join(command)}", flush=True)
    try:
        completed = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=SETUP_TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise BenchError(
            f"`{shlex.join(cli_args)}` took more than {SETUP_TIMEOUT_S:.0f} s"
        ) from None
    if completed.returncode != 0:
        raise BenchError(
            f"`boxoffice {shlex.join(cli_args)}` exited with {completed.returncode}:\n"
            f"{completed.stdout}{completed.stderr}"
        )


def setup_database(args: argparse.Namespace, target: PgTarget) -> None:
    print(f"Setup: recreating database {target.database!r} on {target.host}:{target.port}")
    postgres_admin(
        target,
        [
            f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)',
            f'CREATE DATABASE "{target.database}"',
        ],
    )
    env = {
        **os.environ,
        "BOXOFFICE_DATABASE_URL": args.database_url,
        "BOXOFFICE_REDIS_URL": args.redis_url,
    }
    run_cli(["migrate"], env)
    run_cli(["seed", "--demo"], env)


# --------------------------------------------------------------------------------------------
# Machine info, reporting


def _command_output(command: list[str], *, any_exit_code: bool = False) -> str | None:
    """The command's output, or None if it failed (``any_exit_code``: for ``wrk --version``,
    which exits with 1)."""
    try:
        completed = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if completed.returncode != 0 and not any_exit_code:
        return None
    return (completed.stdout or completed.stderr).strip() or None


def _proc_field(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        pass
    return None


def machine_info(wrk: Path) -> dict[str, Any]:
    wrk_version = _command_output([str(wrk), "--version"], any_exit_code=True)
    try:
        granian_version: str | None = importlib.metadata.version("granian")
    except importlib.metadata.PackageNotFoundError:
        granian_version = None
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": _proc_field("/proc/cpuinfo", "model name") or platform.processor(),
        "mem_total": _proc_field("/proc/meminfo", "MemTotal"),
        "kernel": platform.release(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "wrk": wrk_version.splitlines()[0] if wrk_version else None,
        "granian": granian_version,
    }


def git_info() -> dict[str, Any]:
    status = _command_output(["git", "status", "--porcelain", "--untracked-files=no"])
    return {
        "commit": _command_output(["git", "rev-parse", "--verify", "--quiet", "HEAD"]),
        "dirty": bool(status),  # uncommitted changes to tracked files
    }


def ratio_to_ceiling(rps: float, ceiling_rps: float | None) -> float | None:
    if not ceiling_rps:
        return None
    return rps / ceiling_rps


def format_ratio(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio * 100:.1f} %"


TABLE_HEADER = ("scenario", "req/s", "p50 ms", "p99 ms", "non-2xx", "% of ceiling")


def table_rows(results: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    rows = []
    for result in results:
        if "error" in result:
            rows.append((result["name"], "failed", "", "", "", ""))
            continue
        rows.append((
            result["name"],
            f"{result['requests_per_sec']:,.0f}",
            f"{result['latency_ms']['50']:.2f}",
            f"{result['latency_ms']['99']:.2f}",
            str(result["non_2xx_3xx"]),
            format_ratio(result["ratio_to_ceiling"]),
        ))  # fmt: skip
    return rows


def print_tables(results: list[dict[str, Any]]) -> None:
    rows = table_rows(results)
    widths = [max(len(row[i]) for row in [TABLE_HEADER, *rows]) for i in range(len(TABLE_HEADER))]

    def line(row: tuple[str, ...]) -> str:
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        return "  ".join(cells)

    print()
    print(line(TABLE_HEADER))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print(line(row))
    print("\nMarkdown rows for docs/benchmarks.md:\n")
    print("| " + " | ".join(TABLE_HEADER) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(TABLE_HEADER) - 1)) + "|")
    for row in rows:
        print("| " + " | ".join((f"`{row[0]}`", *row[1:])) + " |")


# --------------------------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    names = [scenario.name for scenario in SCENARIOS]
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Run wrk against the Boxoffice app and a bare Starlette+Redis ceiling.",
        epilog="Scenarios: " + ", ".join(names) + ". The ceiling always runs.",
    )
    parser.add_argument(
        "--duration",
        type=duration_arg,
        default="15s",
        help="wrk duration per scenario (default: 15s)",
    )
    parser.add_argument(
        "--warmup",
        type=duration_arg,
        default="2s",
        help="wrk warm-up before each scenario, not measured (default: 2s)",
    )
    parser.add_argument(
        "--connections", type=positive_int, default=64, help="wrk connections (default: 64)"
    )
    parser.add_argument("--threads", type=positive_int, default=2, help="wrk threads (default: 2)")
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=2,
        help="server worker processes, app and ceiling alike (default: 2)",
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help=f"PostgreSQL database to (re)create and serve from (default: {DEFAULT_DATABASE_URL})",
    )
    parser.add_argument(
        "--redis-url",
        default=DEFAULT_REDIS_URL,
        help=f"Redis for the app and the ceiling (default: {DEFAULT_REDIS_URL})",
    )
    parser.add_argument(
        "--skip-setup",
        action="store_true",
        help="keep the database as it is: no drop/create, migrate or seed",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="JSON results file (default: bench/results/latest.json)",
    )
    parser.add_argument(
        "--scenario",
        action="extend",
        nargs="+",
        choices=names,
        metavar="NAME",
        help="run only these scenarios (repeatable)",
    )
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = parser.parse_args(argv)
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads (wrk needs one per thread)")
    return args


def selected_scenarios(args: argparse.Namespace) -> list[Scenario]:
    if not args.scenario:
        return list(SCENARIOS)
    wanted = {*args.scenario, CEILING}
    return [scenario for scenario in SCENARIOS if scenario.name in wanted]


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def interrupts_as_keyboard_interrupt() -> Iterator[None]:
    """SIGTERM/SIGHUP unwind like Ctrl-C, so the ``finally`` that stops the servers runs."""
    previous = {
        sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_scenario(
    scenario: Scenario,
    ctx: RunContext,
    wrk: Path,
    ceiling_rps: float | None,
) -> dict[str, Any]:
    args = ctx.args
    base_url = ctx.base_urls[scenario.server]
    script_args = scenario.prepare(ctx, scenario) if scenario.prepare else []
    url = base_url + ("/" if scenario.script else scenario.path)
    warmup = wrk_command(wrk, args, args.warmup, url, scenario.script, script_args)
    measure = wrk_command(wrk, args, args.duration, url, scenario.script, script_args)
    run_wrk(warmup, args.warmup)
    output = run_wrk(measure, args.duration)
    result = parse_wrk_output(output)
    if result.duration_s < 0.9 * duration_seconds(args.duration):
        raise BenchError(f"wrk stopped after {result.duration_s:.2f} s of {args.duration}")
    return {
        "name": scenario.name,
        "description": scenario.description,
        "server": scenario.server,
        "path": scenario.path,
        "wrk_command": shlex.join(measure),
        "requests_per_sec": result.requests_per_sec,
        "latency_ms": result.latency_ms,
        "requests": result.requests,
        "duration_s": result.duration_s,
        "non_2xx_3xx": result.non_2xx_3xx,
        "socket_errors": result.socket_errors,
        "ratio_to_ceiling": ratio_to_ceiling(result.requests_per_sec, ceiling_rps),
        "wrk_output": output,
    }


def run(args: argparse.Namespace) -> int:
    scenarios = selected_scenarios(args)
    wrk_path = shutil.which("wrk")
    if wrk_path is None:
        print("wrk is not installed. Install it with:\n    apt-get install -y wrk", file=sys.stderr)
        return 2
    wrk = Path(wrk_path)
    output_path: Path = args.output.resolve()
    needs_app = any(scenario.server == "app" for scenario in scenarios)

    print(f"Scenarios: {', '.join(s.name for s in scenarios)}")
    print(
        f"wrk: -t {args.threads} -c {args.connections} -d {args.duration} "
        f"(warm-up {args.warmup}); servers: {args.workers} workers"
    )
    redis_version = prepare_redis(args.redis_url)
    print(f"Redis {redis_version} at {redact_url(args.redis_url)}: ceiling key set")
    postgres_version: str | None = None
    if needs_app:
        target = parse_database_url(args.database_url)
        postgres_version = postgres_admin(target)
        print(f"PostgreSQL {postgres_version} at {target.host}:{target.port}")
        if args.skip_setup:
            print("Setup skipped (--skip-setup)")
        else:
            setup_database(args, target)

    results: list[dict[str, Any]] = []
    servers = Servers(args, output_path.parent)
    ceiling_rps: float | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="boxoffice-bench-") as workdir:
            ctx = RunContext(
                args=args,
                workdir=Path(workdir),
                base_urls={
                    "app": f"http://{HOST}:{APP_PORT}",
                    "ceiling": f"http://{HOST}:{CEILING_PORT}",
                },
            )
            for index, scenario in enumerate(scenarios):
                print(f"\n[{scenario.name}] {scenario.description}", flush=True)
                servers.release_unneeded({scenario.server})
                try:
                    servers.ensure(scenario.server)
                    result = run_scenario(scenario, ctx, wrk, ceiling_rps)
                except BenchError as exc:
                    print(f"    FAILED: {exc}", flush=True)
                    results.append({"name": scenario.name, "error": str(exc)})
                    continue
                if scenario.name == CEILING:
                    ceiling_rps = result["requests_per_sec"]
                    result["ratio_to_ceiling"] = 1.0
                results.append(result)
                print(
                    f"    {result['requests_per_sec']:,.0f} req/s, "
                    f"p50 {result['latency_ms']['50']:.2f} ms, "
                    f"p99 {result['latency_ms']['99']:.2f} ms, "
                    f"non-2xx {result['non_2xx_3xx']}, "
                    f"socket errors {sum(result['socket_errors'].values())}, "
                    f"{format_ratio(result['ratio_to_ceiling'])} of ceiling",
                    flush=True,
                )
                remaining = {s.server for s in scenarios[index + 1 :]}
                servers.release_unneeded(remaining)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip the stop
        try:
            servers.stop_all()
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)

    report = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join([sys.executable, *sys.argv]),
        "git": git_info(),
        "machine": machine_info(wrk),
        "services": {"postgresql": postgres_version, "redis": redis_version},
        "parameters": {
            "duration": args.duration,
            "warmup": args.warmup,
            "connections": args.connections,
            "threads": args.threads,
            "workers": args.workers,
            "wrk_timeout": WRK_REQUEST_TIMEOUT,
            "database_url": redact_url(args.database_url) if needs_app else None,
            "redis_url": redact_url(args.redis_url),
            "skip_setup": args.skip_setup,
            "server_commands": servers.commands,
        },
        "results": results,
    }
    output_path.parent.mkdir(parents=True, exist_ok=True)
    output_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    print_tables(results)
    print(f"\nResults written to {output_path}")

    failed = [r["name"] for r in results if "error" in r]
    errored = [r["name"] for r in results if "error" not in r and r["non_2xx_3xx"]]
    socket = [r["name"] for r in results if "error" not in r and any(r["socket_errors"].values())]
    if socket:
        print(f"Warning: socket errors in {', '.join(socket)} (see wrk_output in the JSON)")
    if failed:
        print(f"Failed: {', '.join(failed)} (errors above and in the JSON)")
    if errored:
        print(f"Not valid: non-2xx responses in {', '.join(errored)}")
    return 1 if failed or errored else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for scenario in SCENARIOS:
            print(f"{scenario.name:<18} {scenario.server:<8} {scenario.description}")
        return 0
    with interrupts_as_keyboard_interrupt():
        try:
            return run(args)
        except BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\ninterrupted; servers stopped", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
