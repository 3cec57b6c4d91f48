"""Operations: health and readiness, metrics, request ids, security headers, errors for unknown
routes and methods, and the OpenAPI document."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from boxoffice.app import create_app
from boxoffice.db.engine import create_database
from tests.conftest import Backend, make_settings
from tests.helpers import API, assert_problem

# Nothing listens on port 1: connecting is refused at once.
DEAD_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:1/nope"
DEAD_REDIS = "redis://127.0.0.1:1/0"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@pytest.fixture
async def own_app(backend: Backend, var_dir: Path) -> AsyncIterator[FastAPI]:
    """An app of its own, so a test may break its connections without harming the others."""
    application = create_app(make_settings(backend, var_dir))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def own_client(own_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=own_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def request_counts(metrics_text: str) -> dict[tuple[str, str, str], float]:
    """``boxoffice_http_requests_total`` samples keyed by (method, route, status)."""
    counts: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "boxoffice_http_requests_total":
                labels = sample.labels
                counts[(labels["method"], labels["route"], labels["status"])] = sample.value
    return counts


class TestHealthz:
    async def test_alive(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz")
        assert response.status_code == 200
        assert response.json()["status"] == "ok"

    async def test_lives_at_the_root_only(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get(f"{API}/healthz"), 404)


class TestReadyz:
    async def test_ready_when_dependencies_answer(
        self, client: httpx.AsyncClient, backend: Backend
    ) -> None:
        response = await client.get("/readyz")
        assert response.status_code == 200, response.text
        checks = response.json()["checks"]
        assert checks["database"] == "ok"
        if backend.redis_url:
            assert checks["redis"] == "ok"
        else:
            assert "redis" not in checks

    async def test_unreachable_database_is_503_naming_it(
        self, own_app: FastAPI, own_client: httpx.AsyncClient, backend: Backend, var_dir: Path
    ) -> None:
        resources = own_app.state.resources
        healthy = resources.database
        dead = create_database(make_settings(backend, var_dir, database_url=DEAD_POSTGRES))
        resources.database = dead
        try:
            response = await own_client.get("/readyz")
        finally:
            resources.database = healthy
            await dead.dispose()
        assert response.status_code == 503, response.text
        checks = response.json()["checks"]
        assert checks["database"] != "ok"
        assert "database" in checks
        if backend.redis_url:
            assert checks["redis"] == "ok"

    async def test_unreachable_redis_is_503_naming_it(
        self, own_app: FastAPI, own_client: httpx.AsyncClient
    ) -> None:
        resources = own_app.state.resources
        healthy = resources.redis
        dead = Redis.from_url(DEAD_REDIS, socket_connect_timeout=0.5)
        resources.redis = dead
        try:
            response = await own_client.get("/readyz")
        finally:
            resources.redis = healthy
            await dead.aclose()
        assert response.status_code == 503, response.text
        checks = response.json()["checks"]
        assert checks["database"] == "ok"
        assert checks["redis"] != "ok"

    async def test_ready_again_once_the_database_is_back(
        self, own_app: FastAPI, own_client: httpx.AsyncClient, backend: Backend, var_dir: Path
    ) -> None:
        resources = own_app.state.resources
        healthy = resources.database
        dead = create_database(make_settings(backend, var_dir, database_url=DEAD_POSTGRES))
        resources.database = dead
        try:
            assert (await own_client.get("/readyz")).status_code == 503
        finally:
            resources.database = healthy
            await dead.dispose()
        assert (await own_client.get("/readyz")).status_code == 200


class TestMetrics:
    async def test_prometheus_text(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert "boxoffice_http_requests_total" in response.text
        assert "boxoffice_http_request_duration_seconds" in response.text

    async def test_requests_are_counted_by_route_template(self, client: httpx.AsyncClient) -> None:
        event_id = str(uuid.uuid4())
        template = f"{API}/events/{{event_id}}"
        before = request_counts((await client.get("/metrics")).text)
        await client.get(f"{API}/events/{event_id}")
        await client.get(f"{API}/events/{uuid.uuid4()}")
        after_text = (await client.get("/metrics")).text
        after = request_counts(after_text)
        key = ("GET", template, "404")
        assert after[key] - before.get(key, 0) == 2
        assert event_id not in after_text

    async def test_unmatched_paths_do_not_become_labels(self, client: httpx.AsyncClient) -> None:
        path = f"/no-such-page-{uuid.uuid4().hex}"
        await client.get(path)
        text = (await client.get("/metrics")).text
        assert path not in text
        routes = {route for _, route, _ in request_counts(text)}
        assert all(route.startswith("/") or route == "unmatched" for route in routes)
        assert not any(re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", route) for route in routes)


class TestRequestId:
    async def test_generated_when_absent(self, client: httpx.AsyncClient) -> None:
        first = await client.get("/healthz")
        second = await client.get("/healthz")
        assert re.fullmatch(r"[A-Za-z0-9._:\-]{8,128}", first.headers["x-request-id"])
        assert first.headers["x-request-id"] != second.headers["x-request-id"]

    async def test_echoed_when_sent(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz", headers={"X-Request-ID": "trace-42.abc"})
        assert response.headers["x-request-id"] == "trace-42.abc"

    async def test_present_on_errors(self, client: httpx.AsyncClient) -> None:
        response = await client.get(f"{API}/nowhere", headers={"X-Request-ID": "err-1"})
        assert response.status_code == 404
        assert response.headers["x-request-id"] == "err-1"

    async def test_unsafe_value_is_replaced(self, client: httpx.AsyncClient) -> None:
        for unsafe in ("has spaces in it", "x" * 500, "quote\"and'<tag>"):
            response = await client.get("/healthz", headers={"X-Request-ID": unsafe})
            assert response.headers["x-request-id"] != unsafe
            assert re.fullmatch(r"[A-Za-z0-9._:\-]{8,128}", response.headers["x-request-id"])


class TestSecurityHeaders:
    @pytest.mark.parametrize("path", ["/healthz", f"{API}/events", f"{API}/not-a-route"])
    async def test_present_on_every_response(self, client: httpx.AsyncClient, path: str) -> None:
        response = await client.get(path)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, name


class TestUnknownRoutesAndMethods:
    async def test_unknown_route_is_404_problem(self, client: httpx.AsyncClient) -> None:
        body = assert_problem(await client.get(f"{API}/definitely-not-here"), 404)
        assert body["instance"] == f"{API}/definitely-not-here"

    async def test_unknown_route_outside_the_api_is_404_problem(
        self, client: httpx.AsyncClient
    ) -> None:
        assert_problem(await client.get("/nothing/here"), 404)

    async def test_wrong_method_is_405_problem(self, client: httpx.AsyncClient) -> None:
        response = await client.delete("/healthz")
        assert_problem(response, 405)
        assert "GET" in response.headers["allow"]

    async def test_wrong_method_on_an_api_route_is_405_problem(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.put(f"{API}/events", json={})
        assert_problem(response, 405)
        assert "GET" in response.headers["allow"]


class TestOpenApi:
    async def test_lists_every_route(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        response = await client.get(f"{API}/openapi.json")
        assert response.status_code == 200
        document = response.json()
        assert document["openapi"].startswith("3.")
        paths = document["paths"]
        missing = [
            f"{method} {route.path}"
            for route in app.routes
            if isinstance(route, APIRoute)
            for method in route.methods or ()
            if method.lower() not in paths.get(route.path, {})
        ]
        assert not missing, missing
        for expected in ("/healthz", "/readyz", "/metrics", f"{API}/events/{{event_id}}"):
            assert expected in paths

    async def test_operation_ids_are_unique(self, client: httpx.AsyncClient) -> None:
        document = (await client.get(f"{API}/openapi.json")).json()
        ids = [
            operation["operationId"]
            for path in document["paths"].values()
            for operation in path.values()
            if isinstance(operation, dict) and "operationId" in operation
        ]
        assert len(ids) == len(set(ids))

    async def test_docs_page(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/docs")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert f"{API}/openapi.json" in response.text
