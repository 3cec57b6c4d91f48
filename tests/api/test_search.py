"""Search: full text with weights and stemming, filters, distance, type-ahead, facets, and an
index that follows every change at once.

The database is shared by every test of a session: each test scopes its listings with the
``organization_id`` of a fresh organization, or with a made-up word (``search_token``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boxoffice.search.text import fold
from tests.conftest import Backend
from tests.helpers import (
    API,
    Account,
    add_ticket_type,
    assert_problem,
    cancel,
    create_event,
    create_organization,
    facets_of,
    in_days,
    patch_event,
    publish,
    published_event,
    register,
    search_ids,
    search_listing,
    search_token,
    suggestions,
    venue_at,
    walk_listing,
)

BERLIN = (52.5200, 13.4050)
MUNICH = (48.1351, 11.5820)
HAMBURG = (53.5511, 9.9937)
PARIS = (48.8566, 2.3522)
LONDON = (51.5074, -0.1278)
ZURICH = (47.3769, 8.5417)
NEW_YORK = (40.7128, -74.0060)
# Great-circle distances (published values, km).
BERLIN_HAMBURG_KM = 255
BERLIN_MUNICH_KM = 504
BERLIN_PARIS_KM = 878
BERLIN_LONDON_KM = 932
PARIS_LONDON_KM = 344


@pytest.fixture(scope="module")
async def organizer(app: object) -> AsyncIterator[Account]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield await register(http)


@pytest.fixture
async def org_id(client: httpx.AsyncClient, organizer: Account) -> str:
    return await create_organization(client, organizer, name=f"Search Org {search_token()}")


@pytest.fixture
def backend_name(backend: Backend) -> str:
    return backend.name


def city_venue(city: str, where: tuple[float, float], country: str = "DE") -> dict[str, Any]:
    return venue_at(f"Hall in {city}", city, *where, country=country)


class TestRelevance:
    async def test_title_then_labels_then_place_then_description(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = search_token()
        # The later the field's weight, the sooner the event: start time cannot explain the order.
        in_description = await published_event(
            client, org_id, organizer, description=f"With {word}.", starts=in_days(5)
        )
        in_venue = await published_event(
            client,
            org_id,
            organizer,
            venue=venue_at(f"Club {word}", "Berlin", *BERLIN),
            starts=in_days(6),
        )
        in_tags = await published_event(
            client, org_id, organizer, tags=["live", word], starts=in_days(7)
        )
        in_category = await published_event(
            client, org_id, organizer, category=word, starts=in_days(8)
        )
        in_title = await published_event(
            client, org_id, organizer, title=f"Night of {word}", starts=in_days(9)
        )
        ranked = await search_ids(client, q=word)
        assert len(ranked) == 5
        assert ranked[0] == in_title["id"]
        assert set(ranked[1:3]) == {in_tags["id"], in_category["id"]}
        assert ranked[3:] == [in_venue["id"], in_description["id"]]
        assert await search_ids(client, q=word, sort="relevance") == ranked
        assert await search_ids(client, q=word, sort="starts_at") == [
            in_description["id"],
            in_venue["id"],
            in_tags["id"],
            in_category["id"],
            in_title["id"],
        ]

    async def test_organizer_name_and_address_rank_above_the_description(
        self, client: httpx.AsyncClient, organizer: Account
    ) -> None:
        word = search_token()
        plain_org = await create_organization(client, organizer, name="Plain hosts")
        described = await published_event(
            client, plain_org, organizer, description=f"Hosted by {word}", starts=in_days(3)
        )
        society = await create_organization(client, organizer, name=f"The {word} Society")
        by_name = await published_event(client, society, organizer, starts=in_days(4))
        address = venue_at("Hall", "Berlin", *BERLIN) | {"address": f"{word.title()}weg 3"}
        at_address = await published_event(
            client, plain_org, organizer, venue=address, starts=in_days(5)
        )
        address_word = await published_event(
            client,
            plain_org,
            organizer,
            venue=venue_at("Hall", "Berlin", *BERLIN) | {"address": f"{word} 3"},
            starts=in_days(6),
        )
        ranked = await search_ids(client, q=word)
        assert at_address["id"] not in ranked  # "Xweg" is another word
        assert set(ranked[:2]) == {by_name["id"], address_word["id"]}
        assert ranked[2:] == [described["id"]]

    async def test_equally_relevant_events_sooner_first_then_by_id(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = search_token()
        same = {"title": f"Twin {word}", "description": "Same text"}
        later = await published_event(client, org_id, organizer, starts=in_days(9), **same)
        start = in_days(4)
        ties = [
            await published_event(client, org_id, organizer, starts=start, **same) for _ in range(3)
        ]
        earlier = await published_event(client, org_id, organizer, starts=in_days(2), **same)
        expected = [earlier["id"], *sorted(e["id"] for e in ties), later["id"]]
        assert await search_ids(client, q=word) == expected
        assert await walk_listing(client, q=word, limit=1) == expected

    async def test_relevance_is_the_default_only_with_q(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = search_token()
        in_title = await published_event(
            client, org_id, organizer, title=f"{word} live", starts=in_days(8)
        )
        described = await published_event(
            client, org_id, organizer, description=f"{word} later", starts=in_days(2)
        )
        assert await search_ids(client, q=word) == [in_title["id"], described["id"]]
        # Without q (or with a q of nothing but punctuation) relevance means start time.
        for params in ({}, {"sort": "relevance"}, {"q": "*", "sort": "relevance"}):
            assert await search_ids(client, organization_id=org_id, **params) == [
                described["id"],
                in_title["id"],
            ]


class TestTextMatching:
    @pytest.mark.parametrize(
        ("written", "typed"),
        [
            ("concert", "concerts"),
            ("concerts", "concert"),
            ("run", "running"),
            ("running", "run"),
            ("dancing", "dance"),
            ("festivals", "festival"),
        ],
    )
    async def test_english_stemming(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str, written: str, typed: str
    ) -> None:
        match = await published_event(
            client, org_id, organizer, title=f"Evening {written}", description=""
        )
        await published_event(client, org_id, organizer, title="Other", description="")
        assert await search_ids(client, q=typed, organization_id=org_id) == [match["id"]]

    @pytest.mark.parametrize(
        ("written", "typed"),
        [
            ("Café Nord", "cafe"),
            ("Cafe Nord", "café"),
            ("Zürich Nights", "zurich"),
            ("Zurich Nights", "Zürich"),
            ("Crème brûlée", "creme brulee"),
            ("São Paulo samba", "SAO"),
            ("Cafe\u0301 decomposed", "café"),
        ],
    )
    async def test_accents_fold_both_ways(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str, written: str, typed: str
    ) -> None:
        match = await published_event(client, org_id, organizer, title=written, description="")
        await published_event(client, org_id, organizer, title="Other", description="")
        assert await search_ids(client, q=typed, organization_id=org_id) == [match["id"]]

    @pytest.mark.parametrize("typed", ["Straße", "straße", "STRASSE", "strasse"])
    async def test_sharp_s_is_found_as_written_and_as_ss(
        self,
        request: pytest.FixtureRequest,
        backend_name: str,
        client: httpx.AsyncClient,
        organizer: Account,
        org_id: str,
        typed: str,
    ) -> None:
        match = await published_event(
            client, org_id, organizer, title="Fest in der Straße", description=""
        )
        assert await search_ids(client, q=typed, organization_id=org_id) == [match["id"]]

    async def test_quoted_phrase_needs_adjacent_words_in_order(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        adjacent = await published_event(
            client, org_id, organizer, title="String quartet in D", description=""
        )
        reversed_order = await published_event(
            client, org_id, organizer, title="Quartet for strings", description=""
        )
        apart = await published_event(
            client, org_id, organizer, title="String and brass quartet", description=""
        )
        assert await search_ids(client, q='"string quartet"', organization_id=org_id) == [
            adjacent["id"]
        ]
        assert await search_ids(client, q='"String Quartet', organization_id=org_id) == [
            adjacent["id"]
        ]
        unquoted = await search_ids(client, q="string quartet", organization_id=org_id)
        assert set(unquoted) == {adjacent["id"], reversed_order["id"], apart["id"]}

    async def test_excluded_words_and_phrases(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = search_token()
        jazz = await published_event(
            client, org_id, organizer, title=f"{word} jazz", description="", tags=[]
        )
        rock = await published_event(
            client, org_id, organizer, title=f"{word} rock", description="", tags=[]
        )
        quartet = await published_event(
            client, org_id, organizer, title=f"{word} string quartet", description="", tags=[]
        )
        loose = await published_event(
            client, org_id, organizer, title=f"{word} quartet of strings", description="", tags=[]
        )
        everything = {jazz["id"], rock["id"], quartet["id"], loose["id"]}
        assert set(await search_ids(client, q=word)) == everything
        assert set(await search_ids(client, q=f"{word} -rock")) == everything - {rock["id"]}
        assert set(await search_ids(client, q=f'{word} -"string quartet"')) == everything - {
            quartet["id"]
        }
        assert set(await search_ids(client, q=f"{word} -rock -jazz")) == {
            quartet["id"],
            loose["id"],
        }
        # Exclusions alone: everything of the scope without the word.
        only_excluded = await search_ids(client, q="-rock", organization_id=org_id)
        assert set(only_excluded) == everything - {rock["id"]}
        assert await walk_listing(client, q="-rock", organization_id=org_id, limit=1) == (
            only_excluded
        )

    async def test_several_words_must_all_match_in_any_field(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        first, second = search_token(), search_token()
        both = await published_event(
            client, org_id, organizer, title=f"{first} night", description=f"with {second}"
        )
        await published_event(client, org_id, organizer, title=f"{first} only")
        await published_event(client, org_id, organizer, title=f"{second} only")
        assert await search_ids(client, q=f"{first} {second}") == [both["id"]]
        assert await search_ids(client, q=f"{second.upper()}   {first}") == [both["id"]]

    async def test_or_is_a_word_not_an_operator(
        self,
        request: pytest.FixtureRequest,
        backend_name: str,
        client: httpx.AsyncClient,
        organizer: Account,
        org_id: str,
    ) -> None:
        first, second = search_token(), search_token()
        await published_event(client, org_id, organizer, title=f"{first} jazz")
        await published_event(client, org_id, organizer, title=f"{second} rock")
        # Several words are AND: no event has both made-up words.
        assert await search_ids(client, q=f"{first} or {second}") == []
        assert await search_ids(client, q=f"{first} OR {second}") == []

    async def test_excluding_a_common_word_keeps_the_events_without_it(
        self,
        request: pytest.FixtureRequest,
        backend_name: str,
        client: httpx.AsyncClient,
        organizer: Account,
        org_id: str,
    ) -> None:
        await published_event(client, org_id, organizer, title="The night", description="")
        rock = await published_event(client, org_id, organizer, title="Rock", description="")
        assert rock["id"] in await search_ids(client, q="-the", organization_id=org_id)

    @pytest.mark.parametrize(
        "query",
        [
            "{w}&|!:*()'\\",
            "{w}:*",
            "!{w}",
            "({w})",
            "{w}*",
            "'{w}'",
            "<{w}>",
            "{w}\\",
            "NEAR({w})",
        ],
    )
    async def test_punctuation_and_operators_leave_plain_words(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str, query: str
    ) -> None:
        word = search_token()
        match = await published_event(client, org_id, organizer, title=f"Gig {word}")
        await published_event(client, org_id, organizer, title="Unrelated")
        typed = query.format(w=word)
        expected = [match["id"]]
        if typed.startswith("NEAR"):
            # "near" is a word like any other: it must be there too.
            assert await search_ids(client, q=typed, organization_id=org_id) == []
            near = await published_event(client, org_id, organizer, title=f"Near the {word}")
            expected = [near["id"]]
        assert await search_ids(client, q=typed, organization_id=org_id) == expected

    async def test_column_syntax_is_not_syntax(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = search_token()
        # "title:word" is two words: "title" (in the description here) and the word.
        match = await published_event(
            client, org_id, organizer, title="Gig", description=f"The title {word} is new"
        )
        await published_event(client, org_id, organizer, title=f"Gig {word}", description="")
        assert await search_ids(client, q=f"title:{word}", organization_id=org_id) == [match["id"]]

    @pytest.mark.parametrize("punctuation", ["*", "%", "&|!", '"', "-", "--", ":*", "()", "'"])
    async def test_nothing_but_punctuation_is_no_text_condition(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str, punctuation: str
    ) -> None:
        created = [
            await published_event(client, org_id, organizer, starts=in_days(days))
            for days in (3, 1)
        ]
        expected = [created[1]["id"], created[0]["id"]]
        assert await search_ids(client, q=punctuation, organization_id=org_id) == expected

    async def test_a_long_word_is_found(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        long_word = "Donaudampfschifffahrtsgesellschaftskapitaensmuetze"  # 50 letters
        match = await published_event(client, org_id, organizer, title=f"Ball der {long_word}")
        assert await search_ids(client, q=long_word, organization_id=org_id) == [match["id"]]

    async def test_q_of_200_characters_is_fine_201_is_422(
        self, client: httpx.AsyncClient, org_id: str
    ) -> None:
        ok = await client.get(f"{API}/events", params={"q": "a" * 200, "organization_id": org_id})
        assert ok.status_code == 200, ok.text
        assert ok.json()["data"] == []
        assert_problem(await client.get(f"{API}/events", params={"q": "a" * 201}), 422, "q")

    @pytest.mark.parametrize("control", ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\x9f"])
    async def test_control_characters_in_q_are_422(
        self, client: httpx.AsyncClient, control: str
    ) -> None:
        response = await client.get(f"{API}/events", params={"q": f"jazz{control}night"})
        assert_problem(response, 422, "q")

    async def test_tabs_and_newlines_separate_words(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = search_token()
        match = await published_event(client, org_id, organizer, title=f"Late {word} show")
        assert await search_ids(client, q=f"late\t{word}\nshow") == [match["id"]]


class TestFilters:
    async def test_every_filter_combines_with_q(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = search_token()
        berlin = city_venue("Berlin", BERLIN)
        munich = city_venue("München", MUNICH)
        target = await published_event(
            client,
            org_id,
            organizer,
            title=f"{word} target",
            category="music",
            venue=berlin,
            starts=in_days(10),
            ticket={"price_amount": 0},
        )
        variants = {
            "category": {"category": "comedy"},
            "city": {"venue": munich},
            "time": {"starts": in_days(40)},
            "price": {"ticket": {"price_amount": 900}},
            "text": {"title": "Unrelated"},
        }
        others: dict[str, str] = {}
        for name, change in variants.items():
            fields: dict[str, Any] = {
                "title": f"{word} other",
                "category": "music",
                "venue": berlin,
                "starts": in_days(10),
                "ticket": {"price_amount": 0},
            } | change
            others[name] = (await published_event(client, org_id, organizer, **fields))["id"]
        other_org = await create_organization(client, organizer, name="Elsewhere")
        elsewhere = await published_event(
            client,
            other_org,
            organizer,
            title=f"{word} target",
            starts=in_days(10),
            ticket={"price_amount": 0},
        )
        everything = {
            "q": word,
            "category": "Music",
            "city": "BERLIN",
            "starts_after": in_days(5).isoformat(),
            "starts_before": in_days(20).isoformat(),
            "free": "true",
            "available": "true",
            "organization_id": org_id,
            "lat": BERLIN[0],
            "lon": BERLIN[1],
            "radius_km": 50,
        }
        assert await search_ids(client, **everything) == [target["id"]]
        # Dropping one filter lets exactly the event that only it excluded back in.
        dropped_lets_in = {
            "category": ["category"],
            "city": ["city", "radius_km"],
            "time": ["starts_before"],
            "price": ["free"],
            "text": ["q"],
        }
        for name, parameters in dropped_lets_in.items():
            fewer = {key: value for key, value in everything.items() if key not in parameters}
            assert set(await search_ids(client, **fewer)) == {target["id"], others[name]}, name
        without_org = {key: value for key, value in everything.items() if key != "organization_id"}
        assert set(await search_ids(client, **without_org)) == {target["id"], elsewhere["id"]}

    async def test_city_is_exact_but_case_and_accent_insensitive(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        zurich = await published_event(
            client, org_id, organizer, venue=city_venue("Zürich", ZURICH, "CH")
        )
        await published_event(client, org_id, organizer, venue=city_venue("Berlin", BERLIN))
        for city in ("Zürich", "zürich", "ZÜRICH", "Zurich", "zurich", "Zu\u0308rich"):
            assert await search_ids(client, city=city, organization_id=org_id) == [zurich["id"]]
        for city in ("Zur", "Zürichsee", "rich", "Zürich Nord"):
            assert await search_ids(client, city=city, organization_id=org_id) == []

    async def test_available_keeps_every_event_with_tickets_left(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        created = {
            (await published_event(client, org_id, organizer, ticket={"quantity": quantity}))["id"]
            for quantity in (1, 5, 1000)
        }
        assert set(await search_ids(client, available="true", organization_id=org_id)) == created
        items = await search_listing(client, available="true", organization_id=org_id)
        assert all(item["available"] > 0 for item in items)

    async def test_free_false_and_true(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = search_token()
        free = await published_event(
            client, org_id, organizer, title=word, ticket={"price_amount": 0}
        )
        paid = await published_event(
            client, org_id, organizer, title=word, ticket={"price_amount": 100}
        )
        assert await search_ids(client, q=word, free="true") == [free["id"]]
        assert await search_ids(client, q=word, free="false") == [paid["id"]]

    async def test_category_combines_with_q(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = search_token()
        music = await published_event(client, org_id, organizer, title=word, category="music")
        comedy = await published_event(client, org_id, organizer, title=word, category="comedy")
        assert await search_ids(client, q=word, category="music") == [music["id"]]
        assert await search_ids(client, q=word, category=" COMEDY ") == [comedy["id"]]
        assert await search_ids(client, q=word, category="theatre") == []


class TestDistance:
    @pytest.fixture
    async def cities(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> dict[str, str]:
        places = {
            "London": (LONDON, "GB"),
            "Munich": (MUNICH, "DE"),
            "Paris": (PARIS, "FR"),
            "Berlin": (BERLIN, "DE"),
            "Hamburg": (HAMBURG, "DE"),
        }
        created = {}
        for name, (where, country) in places.items():
            event = await published_event(
                client, org_id, organizer, venue=city_venue(name, where, country)
            )
            created[name] = event["id"]
        await published_event(
            client, org_id, organizer, venue=None, online_url="https://stream.example.com/a"
        )
        return created

    async def distances(
        self, client: httpx.AsyncClient, org_id: str, where: tuple[float, float], **params: Any
    ) -> dict[str, float]:
        items = await search_listing(
            client, organization_id=org_id, lat=where[0], lon=where[1], **params
        )
        return {item["venue"]["city"]: item["distance_km"] for item in items}

    async def test_distances_are_great_circle_distances(
        self, client: httpx.AsyncClient, org_id: str, cities: dict[str, str]
    ) -> None:
        from_berlin = await self.distances(client, org_id, BERLIN)
        assert from_berlin.keys() == cities.keys()  # the online event has no position
        assert from_berlin["Berlin"] == pytest.approx(0, abs=0.01)
        assert from_berlin["Hamburg"] == pytest.approx(BERLIN_HAMBURG_KM, rel=0.01)
        assert from_berlin["Munich"] == pytest.approx(BERLIN_MUNICH_KM, rel=0.01)
        assert from_berlin["Paris"] == pytest.approx(BERLIN_PARIS_KM, rel=0.01)
        assert from_berlin["London"] == pytest.approx(BERLIN_LONDON_KM, rel=0.01)
        from_paris = await self.distances(client, org_id, PARIS)
        assert from_paris["London"] == pytest.approx(PARIS_LONDON_KM, rel=0.01)
        assert from_paris["Paris"] == pytest.approx(0, abs=0.01)

    async def test_radius_includes_and_excludes(
        self, client: httpx.AsyncClient, org_id: str, cities: dict[str, str]
    ) -> None:
        expectations = {
            10: {"Berlin"},
            250: {"Berlin"},
            260: {"Berlin", "Hamburg"},
            500: {"Berlin", "Hamburg"},
            510: {"Berlin", "Hamburg", "Munich"},
            900: {"Berlin", "Hamburg", "Munich", "Paris"},
            1000: set(cities),
        }
        for radius, expected in expectations.items():
            found = await self.distances(client, org_id, BERLIN, radius_km=radius)
            assert set(found) == expected, radius
            assert all(distance <= radius for distance in found.values())
        from_paris = await self.distances(client, org_id, PARIS, radius_km=350)
        assert set(from_paris) == {"Paris", "London"}

    async def test_sort_by_distance(
        self, client: httpx.AsyncClient, org_id: str, cities: dict[str, str]
    ) -> None:
        items = await search_listing(
            client, organization_id=org_id, lat=BERLIN[0], lon=BERLIN[1], sort="distance"
        )
        order = ["Berlin", "Hamburg", "Munich", "Paris", "London"]
        assert [item["id"] for item in items] == [cities[name] for name in order]
        from_london = await search_listing(
            client, organization_id=org_id, lat=LONDON[0], lon=LONDON[1], sort="distance"
        )
        assert [item["venue"]["city"] for item in from_london][:2] == ["London", "Paris"]
        assert [item["venue"]["city"] for item in from_london][-1] == "Berlin"
        walked = await walk_listing(
            client,
            organization_id=org_id,
            lat=BERLIN[0],
            lon=BERLIN[1],
            sort="distance",
            limit=1,
        )
        assert walked == [cities[name] for name in order]

    async def test_distance_only_with_a_position(
        self, client: httpx.AsyncClient, org_id: str, cities: dict[str, str]
    ) -> None:
        items = await search_listing(client, organization_id=org_id)
        assert len(items) == 6
        assert all("distance_km" not in item for item in items)

    async def test_radius_across_the_antimeridian(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        east = await published_event(
            client, org_id, organizer, venue=venue_at("East", "Taveuni", -16.5, 179.9, "FJ")
        )
        # 0.2° of longitude at 16.5° S, across the 180th meridian: about 21.3 km.
        items = await search_listing(
            client, organization_id=org_id, lat=-16.5, lon=-179.9, radius_km=30
        )
        assert [item["id"] for item in items] == [east["id"]]
        assert items[0]["distance_km"] == pytest.approx(21.32, rel=0.01)
        assert (
            await search_ids(client, organization_id=org_id, lat=-16.5, lon=-179.9, radius_km=20)
            == []
        )

    async def test_radius_around_a_pole(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        station = await published_event(
            client, org_id, organizer, venue=venue_at("Camp", "North", 89.8, 100.0, "NO")
        )
        # From 89.8° N, 80° W, straight over the pole: 0.4° of latitude, about 44.5 km.
        items = await search_listing(
            client, organization_id=org_id, lat=89.8, lon=-80.0, radius_km=50
        )
        assert [item["id"] for item in items] == [station["id"]]
        assert items[0]["distance_km"] == pytest.approx(44.48, rel=0.01)

    @pytest.mark.parametrize(
        "params",
        [
            {"lat": 52.5},
            {"lon": 13.4},
            {"radius_km": 10},
            {"lat": 91, "lon": 0},
            {"lat": 0, "lon": 181},
            {"lat": 0, "lon": 0, "radius_km": 0},
            {"lat": 0, "lon": 0, "radius_km": 20_001},
            {"sort": "distance"},
        ],
    )
    async def test_incomplete_or_impossible_positions_are_422(
        self, client: httpx.AsyncClient, params: dict[str, Any]
    ) -> None:
        response = await client.get(f"{API}/events", params=params)
        body = assert_problem(response, 422)
        named = {error["field"] for error in body["errors"]}
        assert named & {"lat", "lon", "radius_km", "sort"}, body


class TestCursorPagination:
    """Walking one item at a time gives exactly the single big page, for every sort."""

    async def corpus(self, client: httpx.AsyncClient, organizer: Account, org_id: str) -> str:
        word = search_token()
        same_time = in_days(12)
        same_place = city_venue("Potsdam", (52.3906, 13.0645))
        variants: list[dict[str, Any]] = [
            {"title": f"{word} one", "starts": same_time},
            {"title": f"{word} one", "starts": same_time},
            {"title": f"{word} one", "starts": same_time, "venue": same_place},
            {"title": "Two", "description": f"about {word}", "starts": same_time},
            {"title": "Three", "tags": [word], "starts": in_days(3), "venue": same_place},
            {"title": "Four", "description": f"{word} {word}", "starts": in_days(30)},
            {"title": f"{word} five", "starts": in_days(1), "venue": same_place},
            {"title": "Six", "description": f"{word}", "starts": in_days(2), "venue": same_place},
        ]
        for fields in variants:
            await published_event(client, org_id, organizer, **fields)
        return word

    @pytest.mark.parametrize(
        "params",
        [
            {"sort": "starts_at"},
            {"sort": "relevance", "q": "{w}"},
            {"sort": "starts_at", "q": "{w}"},
            {"sort": "distance", "lat": BERLIN[0], "lon": BERLIN[1]},
            {"sort": "distance", "lat": BERLIN[0], "lon": BERLIN[1], "q": "{w}"},
            {"sort": "relevance", "q": "{w}", "lat": BERLIN[0], "lon": BERLIN[1]},
            {"q": "-nothing"},
        ],
    )
    async def test_walk_equals_one_page(
        self,
        client: httpx.AsyncClient,
        organizer: Account,
        org_id: str,
        params: dict[str, Any],
    ) -> None:
        word = await self.corpus(client, organizer, org_id)
        query = {
            key: value.format(w=word) if isinstance(value, str) else value
            for key, value in params.items()
        }
        whole = await search_ids(client, organization_id=org_id, **query)
        assert len(whole) == 8
        assert len(set(whole)) == 8
        for limit in (1, 3):
            walked = await walk_listing(client, organization_id=org_id, limit=limit, **query)
            assert walked == whole, limit

    async def test_sorts_give_their_own_order(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = await self.corpus(client, organizer, org_id)
        by_time = await search_listing(client, organization_id=org_id, q=word, sort="starts_at")
        starts = [datetime.fromisoformat(item["starts_at"]) for item in by_time]
        assert starts == sorted(starts)
        by_distance = await search_listing(
            client, organization_id=org_id, lat=BERLIN[0], lon=BERLIN[1], sort="distance"
        )
        distances = [item["distance_km"] for item in by_distance]
        assert distances == sorted(distances)
        by_relevance = await search_listing(client, organization_id=org_id, q=word)
        titled = [word in item["title"] for item in by_relevance]
        assert titled == sorted(titled, reverse=True)  # title matches first


class TestSuggest:
    async def test_shape_and_a_title_word_prefix(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = search_token()
        event = await published_event(client, org_id, organizer, title=f"Late {word} Jazz")
        found = await suggestions(client, word[:6])
        assert found
        for item in found:
            assert item.keys() == {"kind", "label", "events", "filter"}
            assert item["kind"] in {"title", "city", "category"}
            assert isinstance(item["label"], str)
            assert item["events"] >= 1
        title = next(item for item in found if item["label"] == event["title"])
        assert title["kind"] == "title"
        assert title["events"] == 1
        # The filter picks the suggestion in GET /events.
        picked = await search_ids(client, organization_id=org_id, **title["filter"])
        assert picked == [event["id"]]

    async def test_jaz_suggests_a_jazz_title(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        await published_event(client, org_id, organizer, title="Jazz at the Riverside")
        found = await suggestions(client, "jaz")
        assert any(item["kind"] == "title" and "jazz" in fold(item["label"]) for item in found)

    async def test_title_filter_survives_quotes_and_punctuation(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = search_token()
        event = await published_event(client, org_id, organizer, title=f'{word} & "Roll"!')
        await published_event(client, org_id, organizer, title=f"Roll {word}")  # not in order
        (item,) = [s for s in await suggestions(client, word) if s["label"] == event["title"]]
        assert await search_ids(client, organization_id=org_id, **item["filter"]) == [event["id"]]

    @pytest.mark.parametrize(
        ("title", "typed"),
        [
            ("Jazz ({w})", "{w}"),
            ('Rock & "{w}"', "{w}"),
            ("Hamlet-{w}", "{w}"),
            ("{w}: the play", "{w} the"),
            ("{w} & roll", "{w} roll"),
        ],
    )
    async def test_any_word_of_a_title_after_punctuation(
        self,
        client: httpx.AsyncClient,
        organizer: Account,
        org_id: str,
        title: str,
        typed: str,
    ) -> None:
        word = search_token()
        event = await published_event(client, org_id, organizer, title=title.format(w=word))
        labels = [item["label"] for item in await suggestions(client, typed.format(w=word))]
        assert event["title"] in labels

    @pytest.mark.parametrize("typed", ["", " ", "j", "J", "*", "é", "- ", '"'])
    async def test_fewer_than_two_letters_suggest_nothing(
        self, client: httpx.AsyncClient, typed: str
    ) -> None:
        assert await suggestions(client, typed) == []

    async def test_at_most_ten(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = search_token()
        for n in range(12):
            await published_event(client, org_id, organizer, title=f"{word} {chr(ord('a') + n)}x")
        found = await suggestions(client, word)
        assert len(found) == 10
        assert all(item["label"].startswith(word) for item in found)

    async def test_start_of_title_before_a_later_word(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = search_token()
        later = await published_event(client, org_id, organizer, title=f"Late {word}")
        first = await published_event(client, org_id, organizer, title=f"{word} first")
        labels = [item["label"] for item in await suggestions(client, word[:7])]
        assert labels.index(first["title"]) < labels.index(later["title"])

    async def test_city_prefix_of_any_word(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await published_event(
            client, org_id, organizer, venue=city_venue("New York", NEW_YORK, "US")
        )
        for typed in ("new y", "New Yo", "york", "NEW   YORK"):
            found = await suggestions(client, typed)
            cities = [item for item in found if item["kind"] == "city"]
            assert any(item["label"] == "New York" for item in cities), typed
        item = next(s for s in await suggestions(client, "new y") if s["kind"] == "city")
        assert item["filter"] == {"city": "New York"}
        assert event["id"] in await search_ids(client, organization_id=org_id, **item["filter"])

    async def test_two_letters_match_a_later_word_too(
        self,
        request: pytest.FixtureRequest,
        backend_name: str,
        client: httpx.AsyncClient,
        organizer: Account,
        org_id: str,
    ) -> None:
        # search_token() words are made of the letters a-p and w, x: "qz" starts no other word.
        event = await published_event(client, org_id, organizer, title="Night qzebra")
        labels = [item["label"] for item in await suggestions(client, "qz")]
        assert event["title"] in labels

    @pytest.mark.parametrize(
        ("typed", "city", "where", "country"),
        [
            ("berlni", "Berlin", BERLIN, "DE"),
            ("brelin", "Berlin", BERLIN, "DE"),
            ("hambrug", "Hamburg", HAMBURG, "DE"),
            ("muncih", "Munich", MUNICH, "DE"),
            ("zur", "Zürich", ZURICH, "CH"),
            ("zür", "Zürich", ZURICH, "CH"),
            ("ZURI", "Zürich", ZURICH, "CH"),
        ],
    )
    async def test_typos_and_accents(
        self,
        request: pytest.FixtureRequest,
        backend_name: str,
        client: httpx.AsyncClient,
        organizer: Account,
        org_id: str,
        typed: str,
        city: str,
        where: tuple[float, float],
        country: str,
    ) -> None:
        await published_event(client, org_id, organizer, venue=city_venue(city, where, country))
        found = await suggestions(client, typed)
        # Another spelling of the same city (Zurich) may be the label: compare folded.
        assert ("city", fold(city)) in [(item["kind"], fold(item["label"])) for item in found], (
            found
        )

    async def test_a_typo_in_a_made_up_title(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = search_token()
        event = await published_event(client, org_id, organizer, title=f"{word} gala")
        # Two different neighbours swapped, late in the word.
        at = next(i for i in range(7, len(word) - 1) if word[i] != word[i + 1])
        typo = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
        labels = [item["label"] for item in await suggestions(client, typo)]
        assert event["title"] in labels
        two_typos = "q" + word[1:4] + "q" + word[5:]
        labels = [item["label"] for item in await suggestions(client, two_typos)]
        assert event["title"] not in labels

    async def test_counts_follow_publish_and_cancel(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = search_token()
        title = f"{word} gala"

        async def count() -> int | None:
            found = [s for s in await suggestions(client, word) if s["kind"] == "title"]
            assert len(found) <= 1
            assert all(fold(item["label"]) == title for item in found)
            return found[0]["events"] if found else None

        draft = await create_event(client, org_id, organizer, title=title)
        await add_ticket_type(client, draft["id"], organizer)
        assert await count() is None
        await publish(client, draft["id"], organizer)
        assert await count() == 1
        second = await published_event(client, org_id, organizer, title=title.upper())
        assert await count() == 2
        await cancel(client, draft["id"], organizer)
        assert await count() == 1
        await cancel(client, second["id"], organizer)
        assert await count() is None

    async def test_city_and_category_counts(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = search_token()
        city, category = f"{word.title()}stadt", f"{word}core"
        events = [
            await published_event(
                client,
                org_id,
                organizer,
                category=category,
                venue=city_venue(city, BERLIN),
            )
            for _ in range(3)
        ]
        found = {(s["kind"], s["label"]): s for s in await suggestions(client, word)}
        assert found[("city", city)]["events"] == 3
        assert found[("category", category)]["events"] == 3
        assert found[("category", category)]["filter"] == {"category": category}
        await cancel(client, events[0]["id"], organizer)
        await patch_event(client, events[1]["id"], organizer, category="music")
        found = {(s["kind"], s["label"]): s for s in await suggestions(client, word)}
        assert found[("city", city)]["events"] == 2
        assert found[("category", category)]["events"] == 1

    async def test_q_over_200_characters_or_with_controls_is_422(
        self, client: httpx.AsyncClient
    ) -> None:
        long = await client.get(f"{API}/events/suggest", params={"q": "b" * 201})
        assert_problem(long, 422, "q")
        nul = await client.get(f"{API}/events/suggest", params={"q": "ber\x00lin"})
        assert_problem(nul, 422, "q")
        assert_problem(await client.get(f"{API}/events/suggest"), 422, "q")


# --- Facets ---------------------------------------------------------------------------------


def drop(params: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in params.items() if key not in names}


async def assert_facets_match_listings(
    client: httpx.AsyncClient, params: dict[str, Any], timezone: str
) -> dict[str, Any]:
    """Every count of the facets equals the length of the listing it stands for."""
    facets = await facets_of(client, timezone=timezone, **params)
    assert facets.keys() == {"total", "categories", "cities", "dates"}
    listed = await search_listing(client, **params)
    assert facets["total"] == len(listed)

    any_category = await search_listing(client, **drop(params, "category"))
    assert {f["value"]: f["count"] for f in facets["categories"]} == dict(
        Counter(item["category"] for item in any_category)
    )
    counts = [(-f["count"], f["value"]) for f in facets["categories"]]
    assert counts == sorted(counts)
    for facet in facets["categories"]:
        picked = await search_ids(client, **(params | {"category": facet["value"]}))
        assert len(picked) == facet["count"], facet

    any_city = await search_listing(client, **drop(params, "city"))
    by_key = Counter(fold(item["venue"]["city"]) for item in any_city if item["venue"])
    assert {fold(f["value"]): f["count"] for f in facets["cities"]} == dict(by_key)
    for facet in facets["cities"]:
        picked = await search_ids(client, **(params | {"city": facet["value"]}))
        assert len(picked) == facet["count"], facet

    assert [bucket["value"] for bucket in facets["dates"]] == [
        "today",
        "this_weekend",
        "next_7_days",
        "this_month",
    ]
    undated = drop(params, "starts_after", "starts_before")
    for bucket in facets["dates"]:
        window = {"starts_after": bucket["starts_after"], "starts_before": bucket["starts_before"]}
        assert datetime.fromisoformat(bucket["starts_after"]) < datetime.fromisoformat(
            bucket["starts_before"]
        )
        picked = await search_ids(client, **(undated | window))
        assert len(picked) == bucket["count"], bucket
    return facets


@dataclass(frozen=True)
class FacetCorpus:
    org_id: str
    word: str
    ids: dict[str, str]


@pytest.fixture(scope="module")
async def facet_corpus(app: object, organizer: Account) -> FacetCorpus:
    """A small varied catalog of one organization: categories, cities (two spellings of
    Zürich), start times from "started an hour ago" to next month, free and paid, one online
    event, one that is over, one cancelled and one draft."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        word = search_token()
        org_id = await create_organization(http, organizer, name=f"Facets {word}")
        berlin = city_venue("Berlin", BERLIN)
        zurich = city_venue("Zürich", ZURICH, "CH")
        free = {"price_amount": 0}
        plan: dict[str, dict[str, Any]] = {
            "soon": {"title": "jazz night", "venue": berlin, "starts": in_days(2 / 24)},
            "tomorrow": {
                "title": "rock festival",
                "venue": zurich,
                "starts": in_days(1),
                "ticket": free,
            },
            "comedy": {
                "title": "comedy jazz",
                "category": "comedy",
                "venue": berlin,
                "starts": in_days(3),
            },
            "standup": {
                "title": "stand up",
                "category": "comedy",
                "venue": city_venue("Hamburg", HAMBURG),
                "starts": in_days(6),
                "ticket": free,
            },
            "quartet": {
                "title": "string quartet",
                "category": "theatre",
                "venue": city_venue("München", MUNICH),
                "starts": in_days(10),
            },
            "late": {
                "title": "jazz quartet",
                "category": "theatre",
                "venue": berlin,
                "starts": in_days(20),
            },
            "online": {
                "title": "online jazz",
                "venue": None,
                "online_url": "https://stream.example.com/f",
                "starts": in_days(2),
            },
            "zurich": {
                "title": "rock in zurich",
                "venue": city_venue("Zurich", ZURICH, "CH"),
                "starts": in_days(40),
            },
            "running": {
                "title": "jazz brunch",
                "venue": berlin,
                "starts_at": in_days(-2 / 24).isoformat(),
                "ends_at": in_days(1 / 24).isoformat(),
            },
            "over": {
                "title": "jazz yesterday",
                "category": "comedy",
                "venue": berlin,
                "starts": in_days(-3),
                "ticket": free,
            },
        }
        ids: dict[str, str] = {}
        for name, planned in plan.items():
            fields = {"tags": [], "description": "", **planned}
            fields["title"] = f"{word} {planned['title']}"
            event = await published_event(http, org_id, organizer, **fields)
            ids[name] = event["id"]
        gone = await published_event(http, org_id, organizer, title=f"{word} cancelled jazz")
        await cancel(http, gone["id"], organizer)
        await create_event(http, org_id, organizer, title=f"{word} draft jazz")
        return FacetCorpus(org_id, word, ids)


FACET_FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "q": st.sampled_from(
            ["jazz", "jazz -quartet", "quartet", '"jazz night"', "-rock", "nomatchword", "***"]
        ),
        "category": st.sampled_from(["music", "comedy", "theatre", "Comedy", "opera"]),
        "city": st.sampled_from(["Berlin", "zurich", "ZÜRICH", "hamburg", "München", "Nowhere"]),
        "dates": st.sampled_from([(-4, None), (None, 7), (1, 30), (-1, 2)]),
        "free": st.sampled_from(["true", "false"]),
        "available": st.just("true"),
        "near": st.sampled_from([(BERLIN, 300), (BERLIN, None), (ZURICH, 50)]),
        "timezone": st.sampled_from(
            ["UTC", "Europe/Berlin", "Pacific/Auckland", "America/Los_Angeles"]
        ),
    },
)


def facet_params(corpus: FacetCorpus, drawn: dict[str, Any]) -> tuple[dict[str, Any], str]:
    params: dict[str, Any] = {"organization_id": corpus.org_id}
    for name in ("q", "category", "city", "free", "available"):
        if name in drawn:
            params[name] = drawn[name]
    if "dates" in drawn:
        after, before = drawn["dates"]
        if after is not None:
            params["starts_after"] = in_days(after).isoformat()
        if before is not None:
            params["starts_before"] = in_days(before).isoformat()
    if "near" in drawn:
        (lat, lon), radius = drawn["near"]
        params |= {"lat": lat, "lon": lon}
        if radius is not None:
            params["radius_km"] = radius
    return params, drawn.get("timezone", "UTC")


class TestFacets:
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(drawn=FACET_FILTERS)
    async def test_each_count_is_the_listing_with_that_value(
        self, client: httpx.AsyncClient, facet_corpus: FacetCorpus, drawn: dict[str, Any]
    ) -> None:
        params, timezone = facet_params(facet_corpus, drawn)
        await assert_facets_match_listings(client, params, timezone)

    async def test_without_filters(
        self, client: httpx.AsyncClient, facet_corpus: FacetCorpus
    ) -> None:
        facets = await assert_facets_match_listings(
            client, {"organization_id": facet_corpus.org_id}, "Europe/Berlin"
        )
        # Listed: everything published that has not ended ("over", draft, cancelled are not).
        assert facets["total"] == 9
        assert {f["value"]: f["count"] for f in facets["categories"]} == {
            "music": 5,
            "comedy": 2,
            "theatre": 2,
        }
        assert facets["categories"][0] == {"value": "music", "count": 5}
        cities = {fold(f["value"]): f["count"] for f in facets["cities"]}
        assert cities == {"berlin": 4, "zurich": 2, "hamburg": 1, "munchen": 1}
        dates = {bucket["value"]: bucket["count"] for bucket in facets["dates"]}
        assert dates["next_7_days"] >= 5  # running, soon, tomorrow, online, comedy (+ standup)
        assert dates["this_month"] >= dates["today"]

    async def test_a_facet_ignores_its_own_filter(
        self, client: httpx.AsyncClient, facet_corpus: FacetCorpus
    ) -> None:
        params = {"organization_id": facet_corpus.org_id, "category": "comedy", "city": "berlin"}
        facets = await assert_facets_match_listings(client, params, "UTC")
        assert facets["total"] == 1  # "comedy jazz" ("over" has ended)
        # Categories of Berlin events; cities of comedy events.
        assert {f["value"]: f["count"] for f in facets["categories"]} == {
            "music": 2,
            "comedy": 1,
            "theatre": 1,
        }
        assert {f["value"]: f["count"] for f in facets["cities"]} == {"Berlin": 1, "Hamburg": 1}

    async def test_text_and_distance_narrow_every_facet(
        self, client: httpx.AsyncClient, facet_corpus: FacetCorpus
    ) -> None:
        params = {
            "organization_id": facet_corpus.org_id,
            "q": "jazz",
            "lat": BERLIN[0],
            "lon": BERLIN[1],
            "radius_km": 300,
        }
        facets = await assert_facets_match_listings(client, params, "Europe/Berlin")
        assert facets["total"] == 4  # soon, comedy, late, running (online has no position)
        assert {f["value"] for f in facets["cities"]} == {"Berlin"}

    async def test_counts_follow_changes(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        music = await published_event(client, org_id, organizer, category="music")
        comedy = await published_event(client, org_id, organizer, category="comedy")
        facets = await facets_of(client, organization_id=org_id)
        assert facets["total"] == 2
        await cancel(client, music["id"], organizer)
        await patch_event(client, comedy["id"], organizer, venue=city_venue("Hamburg", HAMBURG))
        facets = await facets_of(client, organization_id=org_id)
        assert facets["total"] == 1
        assert facets["categories"] == [{"value": "comedy", "count": 1}]
        assert facets["cities"] == [{"value": "Hamburg", "count": 1}]

    async def test_today_uses_the_given_time_zone(
        self, client: httpx.AsyncClient, facet_corpus: FacetCorpus
    ) -> None:
        for zone, offset in (("UTC", 0), ("Asia/Tokyo", 9), ("America/Los_Angeles", None)):
            facets = await facets_of(client, organization_id=facet_corpus.org_id, timezone=zone)
            today = facets["dates"][0]
            start = datetime.fromisoformat(today["starts_after"])
            end = datetime.fromisoformat(today["starts_before"])
            assert start.utcoffset() == timedelta(0)
            assert timedelta(hours=23) <= end - start <= timedelta(hours=25)
            if offset is not None:
                assert (start.hour + offset) % 24 == 0, zone

    @pytest.mark.parametrize("timezone", ["Mars/Olympus", "", "utc+1", "../etc/passwd", "x" * 65])
    async def test_bad_time_zone_is_422(self, client: httpx.AsyncClient, timezone: str) -> None:
        response = await client.get(f"{API}/events/facets", params={"timezone": timezone})
        assert_problem(response, 422, "timezone")

    async def test_filters_are_validated_like_the_listing(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get(f"{API}/events/facets", params={"q": "x" * 201}), 422, "q")
        assert_problem(await client.get(f"{API}/events/facets", params={"q": "a\x00"}), 422, "q")
        assert_problem(
            await client.get(f"{API}/events/facets", params={"radius_km": 5}), 422, "radius_km"
        )


class TestIndexFollowsChanges:
    async def test_a_draft_is_never_found(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = search_token()
        draft = await create_event(client, org_id, organizer, title=f"{word} draft")
        await add_ticket_type(client, draft["id"], organizer, price_amount=0)
        await patch_event(client, draft["id"], organizer, description="Changed while a draft")
        assert await search_ids(client, q=word) == []
        assert await search_ids(client, organization_id=org_id) == []
        assert await suggestions(client, word) == []
        assert (await facets_of(client, organization_id=org_id))["total"] == 0
        await publish(client, draft["id"], organizer)
        assert await search_ids(client, q=word) == [draft["id"]]
        assert await search_ids(client, q=word, free="true") == [draft["id"]]
        assert [s["label"] for s in await suggestions(client, word)] == [f"{word} draft"]
        assert (await facets_of(client, organization_id=org_id))["total"] == 1

    async def test_new_title_words_replace_the_old_ones(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        old, new = search_token(), search_token()
        event = await published_event(client, org_id, organizer, title=f"{old} night")
        assert await search_ids(client, q=old) == [event["id"]]
        await patch_event(client, event["id"], organizer, title=f"{new} night")
        assert await search_ids(client, q=old) == []
        assert await search_ids(client, q=new) == [event["id"]]
        assert await suggestions(client, old) == []
        assert [s["label"] for s in await suggestions(client, new)] == [f"{new} night"]

    async def test_description_tags_and_category_follow(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        first, second, third = search_token(), search_token(), search_token()
        event = await published_event(
            client, org_id, organizer, description=f"about {first}", tags=[second]
        )
        await patch_event(
            client, event["id"], organizer, description="nothing", tags=[third], category="dance"
        )
        assert await search_ids(client, q=first) == []
        assert await search_ids(client, q=second) == []
        assert await search_ids(client, q=third) == [event["id"]]
        assert await search_ids(client, organization_id=org_id, category="music") == []
        assert await search_ids(client, organization_id=org_id, category="dance") == [event["id"]]

    async def test_the_venue_moves_city_and_distance(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await published_event(client, org_id, organizer, venue=city_venue("Berlin", BERLIN))
        near_berlin = {"lat": BERLIN[0], "lon": BERLIN[1], "radius_km": 50}
        assert await search_ids(client, organization_id=org_id, **near_berlin) == [event["id"]]
        await patch_event(client, event["id"], organizer, venue=city_venue("München", MUNICH))
        assert await search_ids(client, organization_id=org_id, city="Berlin") == []
        assert await search_ids(client, organization_id=org_id, city="munchen") == [event["id"]]
        assert await search_ids(client, organization_id=org_id, **near_berlin) == []
        (item,) = await search_listing(
            client, organization_id=org_id, lat=BERLIN[0], lon=BERLIN[1], radius_km=600
        )
        assert item["distance_km"] == pytest.approx(BERLIN_MUNICH_KM, rel=0.01)
        await patch_event(
            client, event["id"], organizer, venue=None, online_url="https://stream.example.com/m"
        )
        assert await search_ids(client, organization_id=org_id, city="munchen") == []
        assert await search_ids(client, organization_id=org_id, lat=MUNICH[0], lon=MUNICH[1]) == []
        assert await search_ids(client, organization_id=org_id) == [event["id"]]

    async def test_the_start_time_moves(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await published_event(client, org_id, organizer, starts=in_days(10))
        window = {"starts_after": in_days(30).isoformat(), "starts_before": in_days(40).isoformat()}
        assert await search_ids(client, organization_id=org_id, **window) == []
        moved = in_days(35)
        await patch_event(
            client,
            event["id"],
            organizer,
            starts_at=moved.isoformat(),
            ends_at=(moved + timedelta(hours=2)).isoformat(),
        )
        assert await search_ids(client, organization_id=org_id, **window) == [event["id"]]

    async def test_a_cancelled_event_is_gone_everywhere(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        word = search_token()
        event = await published_event(
            client, org_id, organizer, title=f"{word} gala", venue=city_venue("Berlin", BERLIN)
        )
        assert await search_ids(client, q=word) == [event["id"]]
        await cancel(client, event["id"], organizer)
        assert await search_ids(client, q=word) == []
        assert await search_ids(client, organization_id=org_id) == []
        assert (
            await search_ids(
                client, organization_id=org_id, lat=BERLIN[0], lon=BERLIN[1], sort="distance"
            )
            == []
        )
        assert await suggestions(client, word) == []
        facets = await facets_of(client, organization_id=org_id)
        assert facets["total"] == 0
        assert facets["categories"] == facets["cities"] == []
        assert all(bucket["count"] == 0 for bucket in facets["dates"])

    async def test_a_free_ticket_type_makes_it_free(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await published_event(client, org_id, organizer, ticket={"price_amount": 2000})
        assert await search_ids(client, organization_id=org_id, free="true") == []
        assert await search_ids(client, organization_id=org_id, free="false") == [event["id"]]
        await add_ticket_type(client, event["id"], organizer, name="Guest list", price_amount=0)
        assert await search_ids(client, organization_id=org_id, free="true") == [event["id"]]
        assert await search_ids(client, organization_id=org_id, free="false") == []

    async def test_a_price_change_to_zero_makes_it_free(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        event = await create_event(client, org_id, organizer)
        ticket = await add_ticket_type(client, event["id"], organizer, price_amount=1500)
        await publish(client, event["id"], organizer)
        changed = await client.patch(
            f"{API}/ticket-types/{ticket['id']}",
            json={"price_amount": 0},
            headers=organizer.headers,
        )
        assert changed.status_code == 200, changed.text
        assert await search_ids(client, organization_id=org_id, free="true") == [event["id"]]

    async def test_renaming_the_organization(
        self, client: httpx.AsyncClient, organizer: Account
    ) -> None:
        old, new = search_token(), search_token()
        org = await create_organization(client, organizer, name=f"The {old} Ensemble")
        events = {
            (await published_event(client, org, organizer, title=title))["id"]
            for title in ("Spring", "Autumn")
        }
        draft = await create_event(client, org, organizer, title="Winter")
        assert set(await search_ids(client, q=old)) == events
        renamed = await client.patch(
            f"{API}/organizations/{org}",
            json={"name": f"The {new} Ensemble"},
            headers=organizer.headers,
        )
        assert renamed.status_code == 200, renamed.text
        assert await search_ids(client, q=old) == []
        assert set(await search_ids(client, q=new)) == events
        await add_ticket_type(client, draft["id"], organizer)
        await publish(client, draft["id"], organizer)
        assert set(await search_ids(client, q=new)) == events | {draft["id"]}

    async def test_a_rejected_change_leaves_the_index_alone(
        self, client: httpx.AsyncClient, organizer: Account, org_id: str
    ) -> None:
        old, new = search_token(), search_token()
        event = await published_event(client, org_id, organizer, title=old)
        late = (datetime.fromisoformat(event["ends_at"]) + timedelta(days=1)).isoformat()
        rejected = await client.patch(
            f"{API}/events/{event['id']}",
            json={"title": new, "starts_at": late},
            headers=organizer.headers,
        )
        assert_problem(rejected, 422, "ends_at")
        assert await search_ids(client, q=new) == []
        assert await search_ids(client, q=old) == [event["id"]]
