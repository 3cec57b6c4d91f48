"""A small driver for the HTTP API, so tests read as scenarios rather than request plumbing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

API = "/api/v1"
PASSWORD = "correct-horse-battery-9"


@dataclass
class Account:
    user_id: str
    email: str
    access_token: str
    refresh_token: str
    headers: dict[str, str] = field(default_factory=dict)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


async def register(client: httpx.AsyncClient, *, name: str = "Test User") -> Account:
    email = unique_email()
    response = await client.post(
        f"{API}/auth/register", json={"email": email, "password": PASSWORD, "name": name}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Account(
        user_id=body["user"]["id"],
        email=email,
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )


async def create_organization(client: httpx.AsyncClient, owner: Account, name: str = "Org") -> str:
    response = await client.post(f"{API}/organizations", json={"name": name}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def add_member(
    client: httpx.AsyncClient, org_id: str, by: Account, member: Account, role: str
) -> None:
    response = await client.post(
        f"{API}/organizations/{org_id}/members",
        json={"email": member.email, "role": role},
        headers=by.headers,
    )
    assert response.status_code == 201, response.text


def event_payload(**overrides: Any) -> dict[str, Any]:
    starts = overrides.pop("starts", datetime.now(UTC) + timedelta(days=30))
    payload: dict[str, Any] = {
        "title": "Jazz at the Riverside",
        "description": "An evening of modern jazz.",
        "category": "music",
        "tags": ["jazz", "live"],
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=3)).isoformat(),
        "timezone": "Europe/Berlin",
        "venue": {
            "name": "Quasimodo",
            "address": "Kantstraße 12a",
            "city": "Berlin",
            "country": "DE",
            "lat": 52.5064,
            "lon": 13.3260,
        },
    }
    payload.update(overrides)
    return payload


async def create_event(
    client: httpx.AsyncClient, org_id: str, by: Account, **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/organizations/{org_id}/events", json=event_payload(**overrides), headers=by.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def ticket_type_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": "General admission",
        "price_amount": 2500,
        "currency": "EUR",
        "quantity": 100,
    }
    payload.update(overrides)
    return payload


async def add_ticket_type(
    client: httpx.AsyncClient, event_id: str, by: Account, **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/events/{event_id}/ticket-types",
        json=ticket_type_payload(**overrides),
        headers=by.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def publish(client: httpx.AsyncClient, event_id: str, by: Account) -> dict[str, Any]:
    response = await client.post(f"{API}/events/{event_id}/publish", headers=by.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def published_event(
    client: httpx.AsyncClient,
    org_id: str,
    by: Account,
    *,
    ticket: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    event = await create_event(client, org_id, by, **overrides)
    await add_ticket_type(client, event["id"], by, **(ticket or {}))
    return await publish(client, event["id"], by)


@dataclass
class Tenant:
    """An organization with one account per role, plus an outsider who owns another one."""

    org_id: str
    owner: Account
    admin: Account
    staff: Account
    outsider: Account


async def tenant(client: httpx.AsyncClient) -> Tenant:
    owner, admin, staff, outsider = [await register(client) for _ in range(4)]
    org_id = await create_organization(client, owner)
    await add_member(client, org_id, owner, admin, "admin")
    await add_member(client, org_id, owner, staff, "staff")
    await create_organization(client, outsider, name="Someone else's")
    return Tenant(org_id, owner, admin, staff, outsider)


def assert_problem(
    response: httpx.Response, status: int, field: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] and body["title"]
    if field is not None:
        assert field in {error["field"] for error in body.get("errors", [])}, body
    return body


# --- Search helpers (appended for tests/api/test_search*.py and the reindex tests) ---


def search_token() -> str:
    """A made-up word nobody else uses: letters only (search stems words, not codes with
    digits), ending in "ex" so that no stemming rule shortens the word itself."""
    letters = "".join(chr(ord("a") + int(digit, 16)) for digit in uuid.uuid4().hex[:10])
    return f"w{letters}ex"


def venue_at(
    name: str, city: str, lat: float | None, lon: float | None, country: str = "DE"
) -> dict[str, Any]:
    return {
        "name": name,
        "address": "Somewhere 1",
        "city": city,
        "country": country,
        "lat": lat,
        "lon": lon,
    }


def in_days(days: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)


async def search_listing(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """One page (``limit`` 100 unless given) of ``GET /events``; asserts a 200."""
    params.setdefault("limit", 100)
    response = await client.get(f"{API}/events", params=params)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def search_ids(client: httpx.AsyncClient, **params: Any) -> list[str]:
    return [item["id"] for item in await search_listing(client, **params)]


async def walk_listing(client: httpx.AsyncClient, **params: Any) -> list[str]:
    """Every id of ``GET /events``, following ``next_cursor`` to the end."""
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(200):
        query = dict(params)
        if cursor:
            query["cursor"] = cursor
        response = await client.get(f"{API}/events", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["data"]) <= int(params.get("limit", 20))
        seen.extend(item["id"] for item in body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the cursor walk does not end")


async def suggestions(client: httpx.AsyncClient, typed: str) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/events/suggest", params={"q": typed})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    data: list[dict[str, Any]] = body["data"]
    return data


async def facets_of(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get(f"{API}/events/facets", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def cancel(client: httpx.AsyncClient, event_id: str, by: Account) -> dict[str, Any]:
    response = await client.post(f"{API}/events/{event_id}/cancel", headers=by.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def patch_event(
    client: httpx.AsyncClient, event_id: str, by: Account, **changes: Any
) -> dict[str, Any]:
    response = await client.patch(f"{API}/events/{event_id}", json=changes, headers=by.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
