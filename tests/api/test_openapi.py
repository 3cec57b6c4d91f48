"""The OpenAPI document describes every route, its operation id and its problem answers."""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM = "application/problem+json"


async def _spec(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    ]


class TestOpenAPI:
    async def test_operation_ids_are_unique_and_stable(self, client: httpx.AsyncClient) -> None:
        ids = [operation["operationId"] for _, _, operation in _operations(await _spec(client))]
        assert len(ids) == len(set(ids))
        assert "events-list_events" in ids
        assert "accounts-register" in ids

    async def test_organizer_routes_document_401_403_404_as_problems(
        self, client: httpx.AsyncClient
    ) -> None:
        spec = await _spec(client)
        organizer_routes = [
            ("PATCH", "/api/v1/events/{event_id}"),
            ("POST", "/api/v1/organizations/{org_id}/members"),
            ("PATCH", "/api/v1/ticket-types/{ticket_type_id}"),
        ]
        for method, path in organizer_routes:
            responses = spec["paths"][path][method.lower()]["responses"]
            for status in ("401", "403", "404", "422"):
                assert PROBLEM in responses[status]["content"], (method, path, status)

    async def test_validation_problems_have_a_schema_with_field_errors(
        self, client: httpx.AsyncClient
    ) -> None:
        spec = await _spec(client)
        schema = spec["components"]["schemas"]["ValidationProblemDocument"]
        assert {"type", "title", "status", "errors"} <= set(schema["properties"])
        assert "HTTPValidationError" not in spec["components"]["schemas"]
        register = spec["paths"]["/api/v1/auth/register"]["post"]["responses"]["422"]
        assert register["content"][PROBLEM]["schema"]["$ref"].endswith("/ValidationProblemDocument")

    async def test_lists_document_their_page_shape(self, client: httpx.AsyncClient) -> None:
        spec = await _spec(client)
        listing = spec["paths"]["/api/v1/events"]["get"]["responses"]["200"]
        ref = listing["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        page = spec["components"]["schemas"][ref]
        assert set(page["properties"]) == {"data", "next_cursor"}


class TestDocsPage:
    async def test_works_offline_with_local_assets(self, client: httpx.AsyncClient) -> None:
        page = await client.get("/docs")
        assert page.status_code == 200
        assert "cdn" not in page.text.lower()
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
            assert f'"/docs/assets/{asset}"' in page.text
            response = await client.get(f"/docs/assets/{asset}")
            assert response.status_code == 200
            assert len(response.content) > 10_000
        assert "/api/v1/openapi.json" in page.text
