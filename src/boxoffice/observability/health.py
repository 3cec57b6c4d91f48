"""/healthz, /readyz and /metrics (at the root, not under /api/v1)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from sqlalchemy import text
from starlette.responses import Response

from boxoffice.core.access import public
from boxoffice.core.json import JSONBytesResponse
from boxoffice.core.state import resources_of
from boxoffice.jobs.observe import refresh_job_gauges
from boxoffice.observability.metrics import render_metrics

router = APIRouter(tags=["operations"], dependencies=[Depends(public)])
CHECK_TIMEOUT_SECONDS = 2.0


@router.get("/healthz", summary="The process is alive")
async def healthz() -> Response:
    return JSONBytesResponse({"status": "ok"})


@router.get(
    "/readyz",
    summary="Ready: the database (and Redis, if configured) answer",
    responses={
        503: {
            "description": "Not ready; `checks` says which dependency failed",
            "content": {"application/json": {}},
        }
    },
)
async def readyz(request: Request) -> Response:
    resources = resources_of(request)
    checks: dict[str, str] = {}

    async def database() -> None:
        async with resources.database.write_engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def redis() -> None:
        assert resources.redis is not None
        await resources.redis.ping()

    probes = {"database": database}
    if resources.redis is not None:
        probes["redis"] = redis
    for name, probe in probes.items():
        try:
            await asyncio.wait_for(probe(), CHECK_TIMEOUT_SECONDS)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"failed: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONBytesResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    resources = resources_of(request)
    await refresh_job_gauges(resources.database, resources.jobs.broker)
    body, content_type = render_metrics()
    return Response(body, media_type=content_type)
