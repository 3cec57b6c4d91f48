"""Search benchmark: latency percentiles of the six search scenarios at 1 and 16 clients.

    .venv/bin/python bench/search.py [--events 1000000] [--skip-setup] [--duration 15s]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/boxoffice_search_bench]
        [--clients 1,16] [--workers 2] [--explain bench/results/search_plans.md]

PostgreSQL (default): (re)creates the database, migrates it and bulk-loads ``--events``
synthetic events with ``boxoffice seed --events``; ``--skip-setup`` reuses it. SQLite: pass
``--database-url sqlite+aiosqlite:////tmp/bo_search_bench.db``.

Request paths are drawn from the loaded data (words of real titles, real cities), a thousand
per scenario, and wrk picks one at random for every request (``bench/wrk/paths.lua``), so
the response cache is switched off and every request runs its query. The ceiling — bare
Starlette, one Redis GET (``bench/ceiling_app.py``) — runs in the same run at the same client
counts. With ``--explain`` the script also runs each scenario's SQL, captured from the real
service code, under ``EXPLAIN (ANALYZE, BUFFERS)`` and writes the plans there (PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import shlex
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as base

ROOT = base.ROOT
APP_PORT = 8711
CEILING_PORT = 8712
DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/boxoffice_search_bench"
PATHS_PER_SCENARIO = 1000
API = "/api/v1"
STOPWORDS = {"the", "and", "with", "for", "from", "live", "night", "vs", "of", "at", "in", "a"}

Sample = dict[str, Any]
PathMaker = Callable[[random.Random, Sample, datetime], str]


def _words(title: str) -> list[str]:
    return [w for w in re.findall(r"[^\W\d_]{3,}", title.lower()) if w not in STOPWORDS]


def _query(path: str, **params: Any) -> str:
    return f"{API}{path}?{urllib.parse.urlencode(params)}"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def two_words(rng: random.Random, sample: Sample, now: datetime) -> str:
    words = _words(sample["title"]) or [sample["category"]]
    chosen = rng.sample(words, 2) if len(words) >= 2 else [words[0], sample["category"]]
    return _query("/events", q=" ".join(chosen), limit=20)


def text_city_dates(rng: random.Random, sample: Sample, now: datetime) -> str:
    word = rng.choice(_words(sample["title"]) or [sample["category"]])
    start = now + timedelta(days=rng.randint(0, 300))
    return _query(
        "/events", q=word, city=sample["city"], starts_after=_iso(start),
        starts_before=_iso(start + timedelta(days=90)), limit=20,
    )  # fmt: skip


def radius_next_30_days(rng: random.Random, sample: Sample, now: datetime) -> str:
    return _query(
        "/events", lat=round(sample["lat"], 4), lon=round(sample["lon"], 4), radius_km=25,
        starts_after=_iso(now), starts_before=_iso(now + timedelta(days=30)),
        sort="distance", limit=20,
    )  # fmt: skip


def category_dates(rng: random.Random, sample: Sample, now: datetime) -> str:
    start = now + timedelta(days=rng.randint(0, 300))
    return _query(
        "/events", category=sample["category"], starts_after=_iso(start),
        starts_before=_iso(start + timedelta(days=30)), sort="starts_at", limit=20,
    )  # fmt: skip


def suggest_prefix(rng: random.Random, sample: Sample, now: datetime) -> str:
    words = [*_words(sample["title"]), sample["city"].lower()]
    return _query("/events/suggest", q=rng.choice(words)[:3])


def facets_of_b(rng: random.Random, sample: Sample, now: datetime) -> str:
    path = text_city_dates(rng, sample, now).replace(f"{API}/events?", f"{API}/events/facets?")
    return path.replace("&limit=20", "")


SCENARIOS: list[tuple[str, str, PathMaker]] = [
    ("a_text", "two-word text query, by relevance", two_words),
    ("b_text_city_dates", "text + city + 90-day range", text_city_dates),
    ("c_radius_30d", "25 km radius + next 30 days, by distance", radius_next_30_days),
    ("d_category_dates", "category + 30-day range, by date", category_dates),
    ("e_suggest", "suggest, 3-letter prefix", suggest_prefix),
    ("f_facets", "facets of (b)", facets_of_b),
]


async def _samples(database_url: str, count: int) -> list[Sample]:
    from sqlalchemy import text  # noqa: PLC0415
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT title, category, city, lat, lon FROM events "
                    "WHERE status = 'published' AND city IS NOT NULL "
                    "ORDER BY random() LIMIT :count"
                ),
                {"count": count},
            )
            return [dict(row._mapping) for row in rows]
    finally:
        await engine.dispose()


def write_paths(workdir: Path, samples: list[Sample], seed: int) -> dict[str, Path]:
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    files = {}
    for name, _, maker in SCENARIOS:
        path = workdir / f"{name}.txt"
        lines = [maker(rng, rng.choice(samples), now) for _ in range(PATHS_PER_SCENARIO)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files[name] = path
    return files


def run_wrk(url: str, clients: int, duration: str, paths_file: Path) -> dict[str, Any]:
    threads = 1 if clients == 1 else 2
    command = [
        "wrk", f"-t{threads}", f"-c{clients}", f"-d{duration}", "--timeout", "10s",
        "-s", str(ROOT / "bench" / "wrk" / "paths.lua"), url, "--", str(paths_file),
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            result: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
            result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
            return result
    raise base.BenchError(f"wrk gave no result: {completed.stdout}{completed.stderr}")


def start_app(args: argparse.Namespace, log_dir: Path) -> base.Server:
    command = [
        str(base.venv_bin("boxoffice")), "serve", "--host", base.HOST,
        "--port", str(APP_PORT), "--workers", str(args.workers),
    ]  # fmt: skip
    env = {
        **os.environ,
        "BOXOFFICE_DATABASE_URL": args.database_url,
        "BOXOFFICE_ENV": "production",
        "BOXOFFICE_SECRET_KEY": secrets.token_hex(32),
        "BOXOFFICE_LOG_LEVEL": "warning",
        "BOXOFFICE_CACHE_ENABLED": "false",  # measure the search, not the response cache
        "BOXOFFICE_RATE_LIMIT_ENABLED": "false",
    }
    if args.redis_url:
        env["BOXOFFICE_REDIS_URL"] = args.redis_url
    print(f"  starting the app: {shlex.join(command)}", flush=True)
    server = base.start_server("app", command, env, log_dir / "app-server.log")
    base.wait_ready(server, f"http://{base.HOST}:{APP_PORT}/readyz")
    return server


def start_ceiling(args: argparse.Namespace, log_dir: Path) -> base.Server:
    command = [
        str(base.venv_bin("granian")), "--interface", "asgi", "--workers", str(args.workers),
        "--host", base.HOST, "--port", str(CEILING_PORT), "--working-dir", str(ROOT),
        "--log-level", "warning", "--no-access-log", "bench.ceiling_app:app",
    ]  # fmt: skip
    env = {**os.environ, "BENCH_CEILING_REDIS_URL": args.redis_url or base.DEFAULT_REDIS_URL}
    base.prepare_redis(env["BENCH_CEILING_REDIS_URL"])
    server = base.start_server("ceiling", command, env, log_dir / "ceiling-server.log")
    base.wait_ready(server, f"http://{base.HOST}:{CEILING_PORT}/ceiling")
    return server


def setup(args: argparse.Namespace) -> None:
    env = {**os.environ, "BOXOFFICE_DATABASE_URL": args.database_url}
    if args.database_url.startswith("postgresql"):
        target = base.parse_database_url(args.database_url)
        base.postgres_admin(
            target,
            [
                f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)',
                f'CREATE DATABASE "{target.database}"',
            ],
        )
    else:
        Path(urllib.parse.urlsplit(args.database_url).path.lstrip("/")).unlink(missing_ok=True)
    for cli_args in (["migrate"], ["seed", "--events", str(args.events)]):
        command = [str(base.venv_bin("boxoffice")), *cli_args]
        print(f"  {shlex.join(command)}", flush=True)
        subprocess.run(command, cwd=ROOT, env=env, check=True)


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| scenario | clients | req/s | p50 ms | p95 ms | p99 ms | non-2xx |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['scenario']} | {r['clients']} | {r['rps']:,.0f} | {r['p50_us'] / 1000:.1f} "
            f"| {r['p95_us'] / 1000:.1f} | {r['p99_us'] / 1000:.1f} | {r['non_2xx']} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=base.DEFAULT_REDIS_URL)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--skip-setup", action="store_true")
    parser.add_argument("--duration", default="15s")
    parser.add_argument("--clients", default="1,16")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scenario", action="append", help="only these (e.g. a_text)")
    parser.add_argument("--explain", type=Path, help="write EXPLAIN ANALYZE plans here")
    parser.add_argument("--output", type=Path, default=ROOT / "bench/results/search.json")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    clients = [int(c) for c in args.clients.split(",")]
    if not args.skip_setup:
        setup(args)
    samples = asyncio.run(_samples(args.database_url, 3000))
    if not samples:
        raise base.BenchError("no published events with a city: load some first")
    selected = [s for s in SCENARIOS if not args.scenario or s[0] in args.scenario]
    with tempfile.TemporaryDirectory(prefix="bo-search-bench-") as tmp:
        workdir = Path(tmp)
        paths = write_paths(workdir, samples, args.seed)
        if args.explain:
            from explain_search import explain_paths  # noqa: PLC0415

            explain_paths(args.database_url, {n: paths[n] for n, _, _ in selected}, args.explain)
            print(f"plans written to {args.explain}")
        results: list[dict[str, Any]] = []
        app = start_app(args, workdir)
        ceiling = start_ceiling(args, workdir)
        try:
            ceiling_paths = workdir / "ceiling.txt"
            ceiling_paths.write_text("/ceiling\n", encoding="utf-8")
            for count in clients:
                ceiling_url = f"http://{base.HOST}:{CEILING_PORT}"
                result = run_wrk(ceiling_url, count, args.duration, ceiling_paths)
                results.append({"scenario": "ceiling", "clients": count, **result})
                print(markdown(results[-1:]).splitlines()[-1], flush=True)
                for name, _, _ in selected:
                    app_url = f"http://{base.HOST}:{APP_PORT}"
                    result = run_wrk(app_url, count, args.duration, paths[name])
                    results.append({"scenario": name, "clients": count, **result})
                    print(markdown(results[-1:]).splitlines()[-1], flush=True)
        finally:
            base.stop_server(app)
            base.stop_server(ceiling)
    print()
    print(markdown(results))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "database": base.redact_url(args.database_url),
                "events": args.events,
                "duration": args.duration,
                "workers": args.workers,
                "git": base.git_info(),
                "results": results,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except base.BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(1)
