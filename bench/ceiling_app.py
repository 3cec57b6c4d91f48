"""The ceiling for the benchmark: a bare Starlette app doing one Redis GET per request.

No FastAPI, no validation, no database: ``GET /ceiling`` fetches one pre-set key holding a ~1 KB
JSON document and returns its bytes. Whatever the real app does on a request costs more than
this, so the real scenarios are reported as a fraction of this app's req/s measured in the same
run on the same machine (see docs/benchmarks.md).

Served by ``bench/run.py`` with granian, from the repository root::

    BENCH_CEILING_REDIS_URL=redis://127.0.0.1:6379/15 \\
        .venv/bin/granian --interface asgi --workers 2 --host 127.0.0.1 --port 8702 \\
        --working-dir . bench.ceiling_app:app

Environment: ``BENCH_CEILING_REDIS_URL`` (default ``redis://127.0.0.1:6379/15``) and
``BENCH_CEILING_KEY`` (default ``boxoffice:bench:ceiling``). The runner sets the key first;
while it is missing the route answers 503, which wrk counts as a non-2xx response.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

from redis.asyncio import ConnectionPool, Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
DEFAULT_KEY = "boxoffice:bench:ceiling"

REDIS_URL = os.environ.get("BENCH_CEILING_REDIS_URL", DEFAULT_REDIS_URL)
KEY = os.environ.get("BENCH_CEILING_KEY", DEFAULT_KEY)


class State(TypedDict):
    redis: Redis


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[State]:
    pool = ConnectionPool.from_url(REDIS_URL)
    client = Redis(connection_pool=pool)
    try:
        yield {"redis": client}
    finally:
        await client.aclose()
        await pool.aclose()


async def ceiling(request: Request) -> Response:
    document = await request.state.redis.get(KEY)
    if document is None:
        return Response(
            b'{"error":"ceiling key not set"}', status_code=503, media_type="application/json"
        )
    return Response(document, media_type="application/json")


app = Starlette(routes=[Route("/ceiling", ceiling, methods=["GET"])], lifespan=lifespan)
