"""Events: the organizer's lifecycle (draft → published → cancelled) and the public listing.

The database is shared by every test of a session, so each test makes its own organization and
scopes listings with ``organization_id`` (or a unique word in ``q``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.helpers import (
    API,
    Account,
    add_ticket_type,
    assert_problem,
    create_event,
    create_organization,
    event_payload,
    publish,
    published_event,
    register,
    walk_listing,
)

BERLIN = (52.5200, 13.4050)
POTSDAM = (52.3906, 13.0645)
HAMBURG = (53.5511, 9.9937)
# Berlin → Potsdam along the surface: 27.19 km on a sphere of mean radius, 27.26 km on WGS 84.
BERLIN_POTSDAM_KM = 27.2
LISTING_KEYS = {
    "id",
    "title",
    "category",
    "starts_at",
    "ends_at",
    "timezone",
    "status",
    "venue",
    "organization_id",
    "min_price_amount",
    "currency",
    "available",
}


def token() -> str:
    """A made-up word: letters only (search stems words, not codes with digits), ending in
    "ex" so that no stemming rule shortens the word itself."""
    letters = "".join(chr(ord("a") + int(digit, 16)) for digit in uuid.uuid4().hex[:10])
    return f"w{letters}ex"


def venue_at(name: str, city: str, lat: float, lon: float) -> dict[str, Any]:
    return {
        "name": name,
        "address": "Somewhere 1",
        "city": city,
        "country": "DE",
        "lat": lat,
        "lon": lon,
    }


def in_days(days: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)


@pytest.fixture(scope="module")
async def organizer(app: object) -> AsyncIterator[Account]:
    """One account for the module (registering is slow on purpose); each test gets a new org."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield await register(http)


@pytest.fixture
async def org_id(client: httpx.AsyncClient, organizer: Account) -> str:
    return await create_organization(client, organizer, name=f"Events Org {token()}")


async def listing(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/events", params=params)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def listed_ids(client: httpx.AsyncClient, **params: Any) -> list[str]:
    return [item["id"] for item in await listing(client, **params)]


async def patch(
    client: httpx.AsyncClient, event_id: str, by: Account, **changes: Any
) -> httpx.Response:
    return await client.patch(f"{API}/events/{event_id}", json=changes, headers=by.headers)


class TestCreateEvent:
    async def test_creates_a_draft(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        payload = event_payload(title="Opening night")
        response = await client.post(
            f"{API}/organizations/{org_id}/events", json=payload, headers=organizer.headers
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["status"] == "draft"
        assert body["organization_id"] == org_id
        assert body["title"] == "Opening night"
        assert body["category"] == "music"
        assert body["tags"] == ["jazz", "live"]
        assert body["timezone"] == "Europe/Berlin"
        assert body["venue"]["city"] == "Berlin"
        assert body["venue"]["lat"] == pytest.approx(52.5064)
        assert body["published_at"] is None
        assert body["available"] == 0
        assert body["min_price_amount"] is None

    async def test_times_are_normalized_to_utc(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await create_event(
            client,
            org_id,
            organizer,
            starts_at="2031-06-01T20:00:00+02:00",
            ends_at="2031-06-01T23:30:00Z",
        )
        assert event["starts_at"] == "2031-06-01T18:00:00+00:00"
        assert event["ends_at"] == "2031-06-01T23:30:00+00:00"
        assert event["created_at"].endswith("+00:00")

    async def test_online_only_event_needs_no_venue(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await create_event(
            client, org_id, organizer, venue=None, online_url="https://stream.example.com/live"
        )
        assert event["venue"] is None
        assert event["online_url"] == "https://stream.example.com/live"

    async def test_location_may_be_announced_later(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await create_event(client, org_id, organizer, venue=None)
        assert event["venue"] is None
        assert event["online_url"] is None

    async def test_category_is_folded_to_lower_case(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await create_event(client, org_id, organizer, category="  Poetry Slam ")
        assert event["category"] == "poetry slam"


class TestUpdateEvent:
    async def test_changes_only_the_given_fields(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await create_event(client, org_id, organizer)
        response = await patch(client, event["id"], organizer, title="A new title")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["title"] == "A new title"
        for unchanged in ("description", "category", "tags", "starts_at", "ends_at", "venue"):
            assert body[unchanged] == event[unchanged], unchanged
        assert body["updated_at"] >= event["updated_at"]

    async def test_replaces_the_venue(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await create_event(client, org_id, organizer)
        response = await patch(
            client, event["id"], organizer, venue=venue_at("Lindenpark", "Potsdam", *POTSDAM)
        )
        assert response.status_code == 200, response.text
        assert response.json()["venue"]["city"] == "Potsdam"
        assert response.json()["venue"]["name"] == "Lindenpark"

    async def test_removing_the_venue_leaves_the_location_to_be_announced(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await create_event(client, org_id, organizer)
        response = await patch(client, event["id"], organizer, venue=None)
        assert response.status_code == 200, response.text
        assert response.json()["venue"] is None

    async def test_venue_can_go_when_there_is_an_online_url(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await create_event(client, org_id, organizer)
        response = await patch(
            client, event["id"], organizer, venue=None, online_url="https://stream.example.com/x"
        )
        assert response.status_code == 200, response.text
        assert response.json()["venue"] is None
        assert response.json()["online_url"] == "https://stream.example.com/x"

    async def test_online_url_can_be_removed(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await create_event(
            client, org_id, organizer, venue=None, online_url="https://stream.example.com/y"
        )
        response = await patch(client, event["id"], organizer, online_url=None)
        assert response.status_code == 200, response.text
        assert response.json()["online_url"] is None

    async def test_moving_the_start_past_the_end_is_422(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await create_event(client, org_id, organizer)
        later = (datetime.fromisoformat(event["ends_at"]) + timedelta(hours=1)).isoformat()
        assert_problem(await patch(client, event["id"], organizer, starts_at=later), 422, "ends_at")

    async def test_null_for_a_required_field_is_422(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await create_event(client, org_id, organizer)
        assert_problem(await patch(client, event["id"], organizer, title=None), 422, "title")

    async def test_published_event_can_be_changed(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await published_event(client, org_id, organizer)
        response = await patch(client, event["id"], organizer, description="Now with strings.")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "published"
        assert response.json()["description"] == "Now with strings."


class TestPublishEvent:
    async def test_needs_a_ticket_type(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await create_event(client, org_id, organizer)
        response = await client.post(
            f"{API}/events/{event['id']}/publish", headers=organizer.headers
        )
        assert_problem(response, 409)
        still = await client.get(f"{API}/events/{event['id']}", headers=organizer.headers)
        assert still.json()["status"] == "draft"

    async def test_publishes_with_a_ticket_type(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await create_event(client, org_id, organizer)
        await add_ticket_type(client, event["id"], organizer)
        response = await client.post(
            f"{API}/events/{event['id']}/publish", headers=organizer.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "published"
        assert response.json()["published_at"].endswith("+00:00")

    async def test_publishing_twice_is_a_no_op(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        first = await published_event(client, org_id, organizer)
        again = await client.post(f"{API}/events/{first['id']}/publish", headers=organizer.headers)
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "published"
        assert again.json()["published_at"] == first["published_at"]


class TestCancelEvent:
    async def test_cancels_a_published_event(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await published_event(client, org_id, organizer)
        response = await client.post(
            f"{API}/events/{event['id']}/cancel", headers=organizer.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "cancelled"

    async def test_cancels_a_draft(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await create_event(client, org_id, organizer)
        response = await client.post(
            f"{API}/events/{event['id']}/cancel", headers=organizer.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "cancelled"

    async def test_cancelling_twice_is_a_no_op(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await published_event(client, org_id, organizer)
        await client.post(f"{API}/events/{event['id']}/cancel", headers=organizer.headers)
        again = await client.post(f"{API}/events/{event['id']}/cancel", headers=organizer.headers)
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "cancelled"

    async def test_cancelled_event_cannot_be_changed(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await published_event(client, org_id, organizer)
        await client.post(f"{API}/events/{event['id']}/cancel", headers=organizer.headers)
        assert_problem(await patch(client, event["id"], organizer, title="Back on"), 409)
        after = await client.get(f"{API}/events/{event['id']}", headers=organizer.headers)
        assert after.json()["title"] == event["title"]

    async def test_cancelled_event_cannot_be_published(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await published_event(client, org_id, organizer)
        await client.post(f"{API}/events/{event['id']}/cancel", headers=organizer.headers)
        response = await client.post(
            f"{API}/events/{event['id']}/publish", headers=organizer.headers
        )
        assert_problem(response, 409)
        after = await client.get(f"{API}/events/{event['id']}", headers=organizer.headers)
        assert after.json()["status"] == "cancelled"

    async def test_cancelled_event_is_no_longer_public(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await published_event(client, org_id, organizer)
        await client.post(f"{API}/events/{event['id']}/cancel", headers=organizer.headers)
        assert_problem(await client.get(f"{API}/events/{event['id']}"), 404)


class TestPublicListing:
    async def test_shows_only_published_events(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        shown = await published_event(client, org_id, organizer)
        draft = await create_event(client, org_id, organizer)
        cancelled = await published_event(client, org_id, organizer)
        await client.post(f"{API}/events/{cancelled['id']}/cancel", headers=organizer.headers)
        items = await listing(client, organization_id=org_id)
        assert [item["id"] for item in items] == [shown["id"]]
        assert items[0]["status"] == "published"
        assert draft["id"] not in {item["id"] for item in items}

    async def test_items_carry_the_listing_fields(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await published_event(client, org_id, organizer)
        (item,) = await listing(client, organization_id=org_id)
        assert item.keys() >= LISTING_KEYS
        assert item["id"] == event["id"]
        assert item["organization_id"] == org_id
        assert item["starts_at"] == event["starts_at"]
        assert item["venue"] == event["venue"]
        assert "distance_km" not in item

    async def test_price_and_availability_follow_the_ticket_types(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await create_event(client, org_id, organizer)
        await add_ticket_type(client, event["id"], organizer, price_amount=2500, quantity=100)
        cheap = await add_ticket_type(
            client, event["id"], organizer, name="Student", price_amount=1200, quantity=40
        )
        await publish(client, event["id"], organizer)
        (item,) = await listing(client, organization_id=org_id)
        assert item["min_price_amount"] == 1200
        assert item["currency"] == "EUR"
        assert item["available"] == 140
        resized = await client.patch(
            f"{API}/ticket-types/{cheap['id']}", json={"quantity": 10}, headers=organizer.headers
        )
        assert resized.status_code == 200, resized.text
        (item,) = await listing(client, organization_id=org_id)
        assert item["available"] == 110

    async def test_past_events_are_not_listed_by_default(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        await published_event(client, org_id, organizer, starts=in_days(-3))
        upcoming = await published_event(client, org_id, organizer, starts=in_days(3))
        assert await listed_ids(client, organization_id=org_id) == [upcoming["id"]]

    async def test_sorted_by_start_time(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        late = await published_event(client, org_id, organizer, starts=in_days(30))
        early = await published_event(client, org_id, organizer, starts=in_days(10))
        middle = await published_event(client, org_id, organizer, starts=in_days(20))
        assert await listed_ids(client, organization_id=org_id) == [
            early["id"],
            middle["id"],
            late["id"],
        ]


class TestListingFilters:
    async def test_category(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        music = await published_event(client, org_id, organizer, category="music")
        await published_event(client, org_id, organizer, category="comedy")
        assert await listed_ids(client, organization_id=org_id, category="music") == [music["id"]]

    async def test_city_is_case_insensitive(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        potsdam = await published_event(
            client, org_id, organizer, venue=venue_at("Lindenpark", "Potsdam", *POTSDAM)
        )
        await published_event(client, org_id, organizer)  # Berlin
        for city in ("Potsdam", "potsdam", "POTSDAM"):
            assert await listed_ids(client, organization_id=org_id, city=city) == [potsdam["id"]]

    async def test_city_is_case_insensitive_beyond_ascii(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        venue = venue_at("Conventum", "Örebro", 59.2741, 15.2066) | {"country": "SE"}
        orebro = await published_event(client, org_id, organizer, venue=venue)
        for city in ("Örebro", "örebro", "ÖREBRO"):
            assert await listed_ids(client, organization_id=org_id, city=city) == [orebro["id"]]

    async def test_start_time_window(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        first = await published_event(client, org_id, organizer, starts=in_days(10))
        second = await published_event(client, org_id, organizer, starts=in_days(20))
        third = await published_event(client, org_id, organizer, starts=in_days(30))
        after = in_days(15).isoformat()
        before = in_days(25).isoformat()
        assert await listed_ids(client, organization_id=org_id, starts_after=after) == [
            second["id"],
            third["id"],
        ]
        assert await listed_ids(client, organization_id=org_id, starts_before=before) == [
            first["id"],
            second["id"],
        ]
        assert await listed_ids(
            client, organization_id=org_id, starts_after=after, starts_before=before
        ) == [second["id"]]

    async def test_start_time_window_accepts_other_offsets(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await published_event(
            client,
            org_id,
            organizer,
            starts_at="2031-06-01T18:00:00+00:00",
            ends_at="2031-06-01T21:00:00+00:00",
        )
        # 19:30 in Berlin summer time is 17:30 UTC: before the start.
        assert await listed_ids(
            client, organization_id=org_id, starts_after="2031-06-01T19:30:00+02:00"
        ) == [event["id"]]
        assert (
            await listed_ids(
                client, organization_id=org_id, starts_after="2031-06-01T20:30:00+02:00"
            )
            == []
        )

    async def test_organization(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = token()
        mine = await published_event(client, org_id, organizer, title=f"Gig {word}")
        other_org = await create_organization(client, organizer, name="Other org")
        theirs = await published_event(client, other_org, organizer, title=f"Gig {word}")
        assert set(await listed_ids(client, q=word)) == {mine["id"], theirs["id"]}
        assert await listed_ids(client, q=word, organization_id=org_id) == [mine["id"]]

    async def test_free(self, client: httpx.AsyncClient, organizer: Account, org_id: str) -> None:
        free = await published_event(client, org_id, organizer, ticket={"price_amount": 0})
        paid = await published_event(client, org_id, organizer, ticket={"price_amount": 1500})
        both = await create_event(client, org_id, organizer)
        await add_ticket_type(client, both["id"], organizer, price_amount=3000)
        await add_ticket_type(client, both["id"], organizer, name="Guest list", price_amount=0)
        await publish(client, both["id"], organizer)
        assert set(await listed_ids(client, organization_id=org_id, free="true")) == {
            free["id"],
            both["id"],
        }
        assert await listed_ids(client, organization_id=org_id, free="false") == [paid["id"]]
        prices = {
            item["id"]: item["min_price_amount"]
            for item in await listing(client, organization_id=org_id, free="true")
        }
        assert prices == {free["id"]: 0, both["id"]: 0}

    @pytest.mark.parametrize("where", ["title", "description", "tags", "venue", "city"])
    async def test_q_matches_a_word_of(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str, where: str
    ) -> None:
        word = token()
        by_field: dict[str, dict[str, Any]] = {
            "title": {"title": f"Night of {word}s"},
            "description": {"description": f"Featuring the {word} quartet."},
            "tags": {"tags": ["jazz", word]},
            "venue": {"venue": venue_at(f"Club {word}", "Berlin", *BERLIN)},
            "city": {"venue": venue_at("Town hall", f"{word.title()} an der Oder", *BERLIN)},
        }
        overrides = by_field[where]
        match = await published_event(client, org_id, organizer, **overrides)
        await published_event(client, org_id, organizer, title="Unrelated", tags=["x"])
        assert await listed_ids(client, q=word) == [match["id"]]
        assert await listed_ids(client, q=word.upper()) == [match["id"]]

    async def test_q_matches_the_organizer_name(
        self, client: httpx.AsyncClient, organizer: Account
    ) -> None:
        word = token()
        society = await create_organization(client, organizer, name=f"The {word} Society")
        first = await published_event(client, society, organizer, title="Spring concert")
        second = await published_event(client, society, organizer, title="Autumn concert")
        assert set(await listed_ids(client, q=word)) == {first["id"], second["id"]}

    async def test_q_is_case_insensitive_beyond_ascii(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = token()
        event = await published_event(client, org_id, organizer, title=f"Über {word}")
        for query in ("über", "ÜBER", "Über"):
            assert await listed_ids(client, q=query, organization_id=org_id) == [event["id"]]

    async def test_q_wildcards_and_operators_are_not_syntax(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        discount = await published_event(client, org_id, organizer, title="Save 50% tonight")
        await published_event(client, org_id, organizer, title="snake_case night")
        plain = await published_event(client, org_id, organizer, title="Plain evening")
        every = {discount["id"], plain["id"]}
        # Nothing but punctuation is no text condition at all: every event is listed.
        assert every <= set(await listed_ids(client, q="%", organization_id=org_id))
        assert await listed_ids(client, q="50%", organization_id=org_id) == [discount["id"]]
        assert await listed_ids(client, q="ev%ning", organization_id=org_id) == []
        assert await listed_ids(client, q="plain:* | !save", organization_id=org_id) == []
        assert await listed_ids(client, q="plain:*", organization_id=org_id) == [plain["id"]]

    async def test_radius_reports_distance_and_excludes_far_events(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        potsdam = await published_event(
            client, org_id, organizer, venue=venue_at("Lindenpark", "Potsdam", *POTSDAM)
        )
        await published_event(
            client, org_id, organizer, venue=venue_at("Fabrik", "Hamburg", *HAMBURG)
        )
        await published_event(
            client, org_id, organizer, venue=None, online_url="https://stream.example.com/z"
        )
        lat, lon = BERLIN
        items = await listing(client, organization_id=org_id, lat=lat, lon=lon, radius_km=30)
        assert [item["id"] for item in items] == [potsdam["id"]]
        assert items[0]["distance_km"] == pytest.approx(BERLIN_POTSDAM_KM, rel=0.01)
        assert (
            await listed_ids(client, organization_id=org_id, lat=lat, lon=lon, radius_km=25) == []
        )

    async def test_lat_lon_without_radius_reports_distance_for_all(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        await published_event(
            client, org_id, organizer, venue=venue_at("Fabrik", "Hamburg", *HAMBURG)
        )
        lat, lon = POTSDAM
        (item,) = await listing(client, organization_id=org_id, lat=lat, lon=lon)
        assert item["distance_km"] > 200

    async def test_sort_by_distance(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        hamburg = await published_event(
            client, org_id, organizer, venue=venue_at("Fabrik", "Hamburg", *HAMBURG)
        )
        berlin = await published_event(
            client, org_id, organizer, venue=venue_at("Mitte", "Berlin", *BERLIN)
        )
        potsdam = await published_event(
            client, org_id, organizer, venue=venue_at("Lindenpark", "Potsdam", *POTSDAM)
        )
        lat, lon = BERLIN
        items = await listing(
            client, organization_id=org_id, lat=lat, lon=lon, radius_km=500, sort="distance"
        )
        assert [item["id"] for item in items] == [berlin["id"], potsdam["id"], hamburg["id"]]
        distances = [item["distance_km"] for item in items]
        assert distances == sorted(distances)
        assert distances[0] == pytest.approx(0, abs=0.01)

    async def test_sort_by_distance_pages_in_order(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        places = [(52.52 + 0.05 * step, 13.405) for step in range(5)]
        created = [
            await published_event(client, org_id, organizer, venue=venue_at("V", "Berlin", *p))
            for p in reversed(places)
        ]
        seen = await walk_listing(
            client, organization_id=org_id, lat=BERLIN[0], lon=BERLIN[1], sort="distance", limit=2
        )
        assert seen == [event["id"] for event in reversed(created)]

    async def test_sort_by_distance_needs_a_position(
        self, client: httpx.AsyncClient, org_id: str
    ) -> None:
        response = await client.get(
            f"{API}/events", params={"organization_id": org_id, "sort": "distance"}
        )
        assert_problem(response, 422, "sort")

    async def test_fields_selects_keys(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await published_event(client, org_id, organizer)
        items = await listing(client, organization_id=org_id, fields="id,title")
        assert items == [{"id": event["id"], "title": event["title"]}]

    async def test_unknown_field_is_422(self, client: httpx.AsyncClient, org_id: str) -> None:
        response = await client.get(
            f"{API}/events", params={"organization_id": org_id, "fields": "id,password"}
        )
        assert_problem(response, 422, "fields")


class TestListingPagination:
    async def test_limit_and_cursor_walk_every_page_once(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        created = [
            await published_event(client, org_id, organizer, starts=in_days(10 + day))
            for day in range(5)
        ]
        first = await client.get(f"{API}/events", params={"organization_id": org_id, "limit": 2})
        assert len(first.json()["data"]) == 2
        assert first.json()["next_cursor"]
        seen = await walk_listing(client, organization_id=org_id, limit=2)
        assert seen == [event["id"] for event in created]

    async def test_last_page_has_no_cursor(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        for _ in range(2):
            await published_event(client, org_id, organizer)
        response = await client.get(f"{API}/events", params={"organization_id": org_id, "limit": 2})
        assert len(response.json()["data"]) == 2
        assert response.json()["next_cursor"] is None

    async def test_relevance_order_walks_every_match_once(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = token()
        in_title = [
            await published_event(client, org_id, organizer, title=f"{word} {n}", starts=in_days(d))
            for n, d in ((1, 20), (2, 10))
        ]
        in_description = [
            await published_event(
                client, org_id, organizer, description=f"with {word}", starts=in_days(d)
            )
            for d in (5, 15)
        ]
        seen = await walk_listing(client, q=word, organization_id=org_id, limit=1)
        # Title matches first, then the rest; each group by start time.
        assert seen == [
            in_title[1]["id"],
            in_title[0]["id"],
            in_description[0]["id"],
            in_description[1]["id"],
        ]

    async def test_equal_distances_are_walked_once_each(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        same_place = venue_at("Lindenpark", "Potsdam", *POTSDAM)
        created = {
            (await published_event(client, org_id, organizer, venue=same_place))["id"]
            for _ in range(5)
        }
        lat, lon = BERLIN
        seen = await walk_listing(
            client, organization_id=org_id, lat=lat, lon=lon, sort="distance", limit=2
        )
        assert len(seen) == len(set(seen)) == 5
        assert set(seen) == created

    async def test_tampered_cursor_is_422(self, client: httpx.AsyncClient, org_id: str) -> None:
        response = await client.get(
            f"{API}/events", params={"organization_id": org_id, "cursor": "eyJrIjpbMV19"}
        )
        assert_problem(response, 422, "cursor")

    async def test_large_pages_are_gzipped_when_accepted(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        for _ in range(4):
            await published_event(client, org_id, organizer, description="Jazz. " * 50)
        url = f"{API}/events?organization_id={org_id}"
        zipped = await client.get(url, headers={"Accept-Encoding": "gzip"})
        assert zipped.status_code == 200
        assert zipped.headers["content-encoding"] == "gzip"
        assert len(zipped.json()["data"]) == 4
        plain = await client.get(url, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert zipped.content == plain.content  # httpx has already decoded the gzip body

    async def test_listing_supports_conditional_requests(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        await published_event(client, org_id, organizer)
        first = await client.get(f"{API}/events", params={"organization_id": org_id})
        etag = first.headers["etag"]
        again = await client.get(
            f"{API}/events", params={"organization_id": org_id}, headers={"If-None-Match": etag}
        )
        assert again.status_code == 304
        assert again.content == b""


class TestGetEvent:
    async def test_published_event_is_public_and_cacheable(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await published_event(client, org_id, organizer)
        response = await client.get(f"{API}/events/{event['id']}")
        assert response.status_code == 200
        assert response.json()["id"] == event["id"]
        assert response.json()["available"] == 100
        assert response.headers["etag"]
        cache_control = response.headers["cache-control"]
        assert "public" in cache_control
        assert "max-age=" in cache_control

    async def test_draft_is_not_publicly_cacheable(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await create_event(client, org_id, organizer)
        assert_problem(await client.get(f"{API}/events/{event['id']}"), 404)
        response = await client.get(f"{API}/events/{event['id']}", headers=organizer.headers)
        assert response.status_code == 200
        assert "public" not in response.headers["cache-control"]
        assert "private" in response.headers["cache-control"]

    async def test_if_none_match_gives_304_with_empty_body(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await published_event(client, org_id, organizer)
        first = await client.get(f"{API}/events/{event['id']}")
        etag = first.headers["etag"]
        cached = await client.get(f"{API}/events/{event['id']}", headers={"If-None-Match": etag})
        assert cached.status_code == 304
        assert cached.content == b""
        assert cached.headers["etag"] == etag

    async def test_stale_etag_gets_the_full_body(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await published_event(client, org_id, organizer)
        response = await client.get(
            f"{API}/events/{event['id']}", headers={"If-None-Match": 'W/"something-else"'}
        )
        assert response.status_code == 200
        assert response.json()["id"] == event["id"]

    async def test_etag_changes_after_a_patch(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await published_event(client, org_id, organizer)
        before = (await client.get(f"{API}/events/{event['id']}")).headers["etag"]
        assert (await patch(client, event["id"], organizer, title="Renamed")).status_code == 200
        after = await client.get(f"{API}/events/{event['id']}", headers={"If-None-Match": before})
        assert after.status_code == 200
        assert after.json()["title"] == "Renamed"
        assert after.headers["etag"] != before

    async def test_unknown_and_malformed_ids_are_404(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get(f"{API}/events/{uuid.uuid4()}"), 404)
        assert_problem(await client.get(f"{API}/events/not-an-id"), 404)
