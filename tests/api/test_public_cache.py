"""Public reads are cached (in memory on SQLite, in Redis on the PostgreSQL run), and every
write is visible to the next read: nothing stale is served after a change commits."""

from __future__ import annotations

import uuid

import httpx

from tests.helpers import (
    API,
    Account,
    add_ticket_type,
    create_event,
    create_organization,
    published_event,
    register,
)


async def _organizer(client: httpx.AsyncClient) -> tuple[Account, str]:
    owner = await register(client)
    return owner, await create_organization(client, owner)


async def _listed_ids(client: httpx.AsyncClient, org_id: str) -> list[str]:
    response = await client.get(f"{API}/events", params={"organization_id": org_id})
    assert response.status_code == 200
    return [event["id"] for event in response.json()["data"]]


class TestEventPage:
    async def test_a_change_is_visible_on_the_next_read(self, client: httpx.AsyncClient) -> None:
        owner, org_id = await _organizer(client)
        event = await published_event(client, org_id, owner, title="Before")
        first = await client.get(f"{API}/events/{event['id']}")
        again = await client.get(f"{API}/events/{event['id']}")
        assert first.json()["title"] == again.json()["title"] == "Before"

        patched = await client.patch(
            f"{API}/events/{event['id']}", json={"title": "After"}, headers=owner.headers
        )
        assert patched.status_code == 200
        after = await client.get(f"{API}/events/{event['id']}")
        assert after.json()["title"] == "After"
        assert after.headers["etag"] != first.headers["etag"]

    async def test_new_ticket_type_updates_price_and_availability(
        self, client: httpx.AsyncClient
    ) -> None:
        owner, org_id = await _organizer(client)
        event = await published_event(
            client, org_id, owner, ticket={"price_amount": 3000, "quantity": 10}
        )
        before = (await client.get(f"{API}/events/{event['id']}")).json()
        await add_ticket_type(client, event["id"], owner, price_amount=1000, quantity=5)
        after = (await client.get(f"{API}/events/{event['id']}")).json()
        assert (before["min_price_amount"], before["available"]) == (3000, 10)
        assert (after["min_price_amount"], after["available"]) == (1000, 15)

    async def test_cancelled_event_disappears_at_once(self, client: httpx.AsyncClient) -> None:
        owner, org_id = await _organizer(client)
        event = await published_event(client, org_id, owner)
        assert (await client.get(f"{API}/events/{event['id']}")).status_code == 200
        await client.post(f"{API}/events/{event['id']}/cancel", headers=owner.headers)
        assert (await client.get(f"{API}/events/{event['id']}")).status_code == 404
        members_view = await client.get(f"{API}/events/{event['id']}", headers=owner.headers)
        assert members_view.json()["status"] == "cancelled"
        assert members_view.headers["cache-control"] == "private, no-cache"

    async def test_a_draft_is_never_cached_for_the_public(self, client: httpx.AsyncClient) -> None:
        owner, org_id = await _organizer(client)
        draft = await create_event(client, org_id, owner)
        for _ in range(2):
            assert (await client.get(f"{API}/events/{draft['id']}")).status_code == 404
            member = await client.get(f"{API}/events/{draft['id']}", headers=owner.headers)
            assert member.status_code == 200
        await add_ticket_type(client, draft["id"], owner)
        await client.post(f"{API}/events/{draft['id']}/publish", headers=owner.headers)
        assert (await client.get(f"{API}/events/{draft['id']}")).status_code == 200


class TestListing:
    async def test_publish_and_cancel_show_in_the_next_listing(
        self, client: httpx.AsyncClient
    ) -> None:
        owner, org_id = await _organizer(client)
        first = await published_event(client, org_id, owner)
        assert await _listed_ids(client, org_id) == [first["id"]]
        assert await _listed_ids(client, org_id) == [first["id"]]  # now served from the cache

        second = await published_event(client, org_id, owner)
        assert set(await _listed_ids(client, org_id)) == {first["id"], second["id"]}

        await client.post(f"{API}/events/{first['id']}/cancel", headers=owner.headers)
        assert await _listed_ids(client, org_id) == [second["id"]]

    async def test_a_failed_write_does_not_invalidate_or_change_anything(
        self, client: httpx.AsyncClient
    ) -> None:
        owner, org_id = await _organizer(client)
        event = await published_event(client, org_id, owner, title="Stays")
        before = await client.get(f"{API}/events", params={"organization_id": org_id})
        refused = await client.patch(
            f"{API}/events/{event['id']}",
            json={"ends_at": event["starts_at"]},
            headers=owner.headers,
        )
        assert refused.status_code == 422
        after = await client.get(f"{API}/events", params={"organization_id": org_id})
        assert after.content == before.content


class TestAnsweredBeforeRouting:
    async def test_a_cached_page_still_honours_if_none_match(
        self, client: httpx.AsyncClient
    ) -> None:
        owner, org_id = await _organizer(client)
        event = await published_event(client, org_id, owner)
        first = await client.get(f"{API}/events/{event['id']}")
        cached = await client.get(f"{API}/events/{event['id']}")
        assert cached.content == first.content
        assert cached.headers["etag"] == first.headers["etag"]
        assert cached.headers["cache-control"].startswith("public")
        not_modified = await client.get(
            f"{API}/events/{event['id']}", headers={"If-None-Match": first.headers["etag"]}
        )
        assert not_modified.status_code == 304
        assert not_modified.content == b""

    async def test_an_invalid_token_is_401_even_when_the_page_is_cached(
        self, client: httpx.AsyncClient
    ) -> None:
        owner, org_id = await _organizer(client)
        event = await published_event(client, org_id, owner)
        for _ in range(2):
            assert (await client.get(f"{API}/events/{event['id']}")).status_code == 200
        response = await client.get(
            f"{API}/events/{event['id']}", headers={"Authorization": "Bearer forged"}
        )
        assert response.status_code == 401

    async def test_unvalidated_parameters_are_never_answered_from_the_cache(
        self, client: httpx.AsyncClient
    ) -> None:
        owner, org_id = await _organizer(client)
        await published_event(client, org_id, owner)
        assert (await client.get(f"{API}/events", params={"limit": 5})).status_code == 200
        bad = await client.get(f"{API}/events", params={"limit": "five"})
        assert bad.status_code == 422

    async def test_cached_answers_are_counted_under_their_route(
        self, client: httpx.AsyncClient
    ) -> None:
        owner, org_id = await _organizer(client)
        event = await published_event(client, org_id, owner)
        for _ in range(3):
            await client.get(f"{API}/events/{event['id']}")
        metrics = (await client.get("/metrics")).text
        assert f'route="{API}/events/{{event_id}}"' in metrics
        assert event["id"] not in metrics

    async def test_renaming_the_organizer_refreshes_listings_searching_its_name(
        self, client: httpx.AsyncClient
    ) -> None:
        owner, org_id = await _organizer(client)
        event = await published_event(client, org_id, owner)
        new_name = f"Renamed {uuid.uuid4().hex[:10]}"
        before = await client.get(f"{API}/events", params={"q": new_name})
        assert before.json()["data"] == []
        renamed = await client.patch(
            f"{API}/organizations/{org_id}", json={"name": new_name}, headers=owner.headers
        )
        assert renamed.status_code == 200
        after = await client.get(f"{API}/events", params={"q": new_name})
        assert [item["id"] for item in after.json()["data"]] == [event["id"]]
