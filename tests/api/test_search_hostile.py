"""Hostile input to the search endpoints: never a 5xx, always a well-formed answer.

Every value below goes to ``GET /events`` (every sort, with and without filters),
``/events/suggest`` and ``/events/facets``. A q of at most 200 characters without control
characters must be answered (200, the usual body); anything else may only be a 422 problem
document naming the parameter. The client here does not re-raise application errors, so a
crash shows up as the 500 it would be.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boxoffice.search.text import STOP_WORDS
from tests.conftest import Backend
from tests.helpers import (
    API,
    Account,
    create_organization,
    published_event,
    register,
    search_ids,
    search_token,
)

BERLIN = (52.5200, 13.4050)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
MAX_Q = 200

HOSTILE = [
    # SQL
    "'; DROP TABLE events; --",
    "1' OR '1'='1",
    '" OR ""="',
    "' UNION SELECT password_hash FROM users --",
    "%' OR 1=1 --",
    "') OR ('a'='a",
    "1; SELECT pg_sleep(10)",
    "jazz'); DELETE FROM search_events_a; --",
    "/* comment */ jazz",
    "$$ jazz $$",
    "E'\\x27'",
    # quotes, balanced or not
    '"',
    '""',
    '"""',
    '"jazz',
    'jazz"',
    '"jazz" "',
    '-"',
    '-""',
    '"-"',
    "'",
    "''",
    "'jazz",
    "`jazz`",
    # engine syntax: tsquery, websearch, FTS5, LIKE
    ":*",
    "jazz:*",
    "jazz:*A",
    "&|!",
    "a & b | !c",
    "!!jazz",
    "!(jazz)",
    "<->",
    "a <-> b",
    "a <2> b",
    "NEAR(a b)",
    "NEAR(a b, 2)",
    "title:jazz",
    "{title description}: jazz",
    "^jazz",
    "jazz*",
    "*",
    "**",
    "-",
    "--",
    "---",
    "- -",
    "-*",
    "-jazz",
    "-jazz -rock -pop",
    "(",
    ")",
    "((a)",
    "AND",
    "OR",
    "NOT",
    "or",
    "a OR b",
    "a AND NOT b",
    "-or",
    "the",
    "-the",
    "and or not",
    "\\",
    "\\\\",
    "\\'",
    "%",
    "%%",
    "_",
    "__",
    "[a-z]",
    "$1",
    ":name",
    "?",
    "@@",
    "||",
    "::text",
    "+jazz",
    "jazz~2",
    # Unicode
    "🎷🎺",
    "🏳️‍🌈",
    "مرحبا بالعالم",
    "שלום עולם",
    "\u202ejazz\u202c",
    "音楽祭",
    "東京 ジャズ",
    "e\u0301\u0301\u0301",
    "\u0301",
    "Z̷̢̛a̵l̶g̷o̸",
    "\ufeffjazz",
    "\u200bjazz\u200b",
    "ß",
    "İstanbul",
    "ﬁ",
    "\U0010ffff",
    "\ufffd",
    "\u2028jazz\u2029",
    "٣٤٥",
    "²³",
    "a" * 40 + "b" * 40,
    "ab " * 66,
    "a-" * 100,
    "a&" * 100,
    '"' + "a " * 99 + '"',
    # too long
    "a" * 201,
    "a" * 10_000,
    "jazz " * 2_000,
    "é" * 201,
    # control characters
    "\x00",
    "jazz\x00",
    "\x00" * 10,
    "\x01\x02",
    "\x1b[31mjazz",
    "\x7f",
    "\x85",
    "\x9f",
    "\t\n\r",
    "jazz\r\nX-Injected: 1",
    # looks like encoding
    "%00",
    "%27%20OR%201%3D1",
    "%ZZ",
    "%E2%82",
    "&amp;",
    "<script>alert(1)</script>",
    "${jndi:ldap://x}",
    "{{7*7}}",
    "../../etc/passwd",
]

# (path, fixed parameters): the listing in every sort, with and without filters, and the others.
ENDPOINTS: list[tuple[str, dict[str, Any]]] = [
    ("/events", {}),
    ("/events", {"sort": "relevance"}),
    ("/events", {"sort": "starts_at", "limit": 1}),
    ("/events", {"sort": "distance", "lat": BERLIN[0], "lon": BERLIN[1]}),
    (
        "/events",
        {
            "category": "music",
            "city": "Berlin",
            "starts_after": "2000-01-01T00:00:00Z",
            "starts_before": "2100-01-01T00:00:00Z",
            "free": "false",
            "available": "true",
            "lat": BERLIN[0],
            "lon": BERLIN[1],
            "radius_km": 100,
            "fields": "id,title",
        },
    ),
    ("/events/suggest", {}),
    ("/events/facets", {"timezone": "Europe/Berlin"}),
    ("/events/facets", {"category": "music", "lat": BERLIN[0], "lon": BERLIN[1], "radius_km": 50}),
]


@pytest.fixture
async def raw_client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    """Application errors come back as responses (500), not exceptions."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture(scope="module")
async def sentinel(app: object) -> AsyncIterator[tuple[str, str]]:
    """(word, id) of a published event that must survive everything."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        owner: Account = await register(http)
        org_id = await create_organization(http, owner, name="Hostile sentinel")
        word = search_token()
        event = await published_event(http, org_id, owner, title=f"Jazz {word}")
        yield word, event["id"]


def expected_status(q: str) -> int:
    return 422 if len(q) > MAX_Q or CONTROL.search(q) else 200


def assert_well_formed(response: httpx.Response, path: str) -> None:
    """A 200 with the endpoint's body, or a 422 problem document; never anything else."""
    assert response.status_code in (200, 422), (response.status_code, response.text[:500])
    body = response.json()
    if response.status_code == 422:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert body["status"] == 422
        assert body["type"] and body["title"]
        assert body["errors"] and all(error["field"] for error in body["errors"])
        return
    if path == "/events/facets":
        assert body.keys() == {"total", "categories", "cities", "dates"}
        assert isinstance(body["total"], int) and body["total"] >= 0
        for facet in (*body["categories"], *body["cities"]):
            assert facet["count"] > 0
        assert [bucket["value"] for bucket in body["dates"]] == [
            "today",
            "this_weekend",
            "next_7_days",
            "this_month",
        ]
        return
    assert body.keys() == {"data", "next_cursor"}
    assert isinstance(body["data"], list)
    if path == "/events/suggest":
        assert len(body["data"]) <= 10
        assert body["next_cursor"] is None
        for item in body["data"]:
            assert item.keys() == {"kind", "label", "events", "filter"}
            assert item["events"] > 0
        return
    for item in body["data"]:
        assert uuid.UUID(item["id"])
        assert item.get("status", "published") == "published"


async def ask(client: httpx.AsyncClient, path: str, params: dict[str, Any]) -> httpx.Response:
    response = await client.get(f"{API}{path}", params=params)
    assert_well_formed(response, path)
    return response


def q_id(value: str) -> str:
    shown = value if len(value) <= 24 else f"{value[:20]}…{len(value)}"
    return shown.encode("unicode_escape").decode()


class TestHostileQ:
    @pytest.mark.parametrize("q", HOSTILE, ids=[q_id(q) for q in HOSTILE])
    async def test_every_endpoint_answers(self, raw_client: httpx.AsyncClient, q: str) -> None:
        status = expected_status(q)
        for path, fixed in ENDPOINTS:
            response = await ask(raw_client, path, {**fixed, "q": q})
            assert response.status_code == status, (path, fixed, response.text[:300])
            if status == 422:
                fields = {error["field"] for error in response.json()["errors"]}
                assert fields == {"q"}, (path, response.text[:300])

    @pytest.mark.parametrize("q", [q for q in HOSTILE if "'" in q or ";" in q], ids=q_id)
    async def test_sql_in_q_is_only_words(
        self,
        request: pytest.FixtureRequest,
        backend: Backend,
        raw_client: httpx.AsyncClient,
        sentinel: tuple[str, str],
        q: str,
    ) -> None:
        word, event_id = sentinel
        await ask(raw_client, "/events", {"q": q})
        # The catalog is intact, and the fragment is only words, which must all be there.
        assert await search_ids(raw_client, q=word) == [event_id]
        extra_words = set(re.findall(r"[a-z0-9]+", q.lower())) - {"jazz"} - STOP_WORDS
        expected = [] if extra_words else [event_id]
        assert await search_ids(raw_client, q=f"{word} {q}") == expected

    @settings(
        max_examples=50,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(q=st.text(max_size=250))
    async def test_any_text(self, raw_client: httpx.AsyncClient, q: str) -> None:
        status = expected_status(q)
        for path, fixed in (ENDPOINTS[1], ENDPOINTS[3], ENDPOINTS[5], ENDPOINTS[6]):
            response = await ask(raw_client, path, {**fixed, "q": q})
            assert response.status_code == status, (path, q, response.text[:300])

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        q=st.lists(
            st.sampled_from(['"', "-", "*", ":", "&", "|", "!", "(", ")", "'", "\\", " ", "<->"])
            | st.sampled_from(["jazz", "or", "and", "not", "near", "the", "a"]),
            max_size=30,
        ).map("".join)
    )
    async def test_any_mix_of_operators_and_words(
        self, raw_client: httpx.AsyncClient, q: str
    ) -> None:
        for path, fixed in (ENDPOINTS[1], ENDPOINTS[5], ENDPOINTS[6]):
            response = await ask(raw_client, path, {**fixed, "q": q[:MAX_Q]})
            assert response.status_code == 200, (path, q, response.text[:300])


RAW_QUERIES = [
    "q=%",
    "q=%ZZ",
    "q=%2",
    "q=%C0%AF",
    "q=%FF%FE",
    "q=%E2%82",
    "q=%ED%A0%80",  # an encoded UTF-16 surrogate
    "q=%F4%90%80%80",  # beyond U+10FFFF
    "q=%00",
    "q=jazz%00night",
    "q=%0A%0D",
    "q=%09",
    "q=%E2%80%AE%E2%80%AD",
    "q=%F0%9F%8E%B7",
    "q=+",
    "q=%2B-%2B",
    "q=%2522%2522",
    "q=%27%20OR%201%3D1%20--",
    "q=a&q=b",
    "q=a&q=%00",
    "q",
    "q=",
    "=x",
    "&&&",
    "q[]=1",
    "q=jazz;sort=distance",
    "q=jazz&sort=%00",
    "q=jazz&sort=relevance%00",
    "q=jazz&limit=-1",
    "q=jazz&limit=0",
    "q=jazz&limit=101",
    "q=jazz&limit=1e2",
    "q=jazz&limit=99999999999999999999999",
    "q=jazz&fields=%00",
    "q=jazz&fields=id,,,",
    "q=" + "%41" * 201,
    "q=" + "%C3%A9" * 200,
]


class TestRawQueryStrings:
    @pytest.mark.parametrize("query", RAW_QUERIES, ids=lambda raw: raw[:40])
    @pytest.mark.parametrize("path", ["/events", "/events/suggest", "/events/facets"])
    async def test_percent_encoded_junk(
        self, raw_client: httpx.AsyncClient, path: str, query: str
    ) -> None:
        url = httpx.URL(f"http://testserver{API}{path}", query=query.encode())
        response = await raw_client.get(url)
        assert_well_formed(response, path)


def cursor_of(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


SOME_ID = str(uuid.uuid4())
WHEN = "2030-01-01T00:00:00+00:00"
# (sort parameters, forged cursor)
FORGED: list[Any] = [
    ({}, cursor_of({"k": [WHEN, 123]})),
    ({}, cursor_of({"k": [WHEN, [1]]})),
    ({}, cursor_of({"k": [WHEN, {"a": 1}]})),
    ({}, cursor_of({"k": [123, SOME_ID]})),
    ({}, cursor_of({"k": ["2030-01-01T00:00:00", SOME_ID]})),
    pytest.param({}, cursor_of({"k": ["9999-12-31T23:59:59-23:59", SOME_ID]}), id="year-10000"),
    pytest.param({}, cursor_of({"k": ["0001-01-01T00:00:00+23:59", SOME_ID]}), id="year-0"),
    ({}, cursor_of({"k": [WHEN, "not-a-uuid"]})),
    ({}, cursor_of({"k": [None, None]})),
    ({}, cursor_of({"k": []})),
    ({}, cursor_of({"k": "x"})),
    ({}, cursor_of({"k": None})),
    ({}, cursor_of({})),
    ({}, cursor_of([])),
    ({}, cursor_of("k")),
    ({}, cursor_of(None)),
    ({}, "!!!"),
    ({}, "e30"),
    ({}, "\x00"),
    ({}, "a" * 513),
    ({"q": "jazz"}, cursor_of({"k": ["nan", WHEN, SOME_ID]})),
    ({"q": "jazz"}, cursor_of({"k": ["inf", WHEN, SOME_ID]})),
    ({"q": "jazz"}, cursor_of({"k": ["-inf", WHEN, SOME_ID]})),
    ({"q": "jazz"}, cursor_of({"k": [1e308, WHEN, SOME_ID]})),
    ({"q": "jazz"}, cursor_of({"k": [True, WHEN, SOME_ID]})),
    ({"q": "jazz"}, cursor_of({"k": ["x", WHEN, SOME_ID]})),
    ({"q": "jazz"}, cursor_of({"k": [0, WHEN, 5]})),
    ({"q": "jazz"}, cursor_of({"k": [WHEN, SOME_ID]})),
    ({"sort": "distance", "lat": 0, "lon": 0}, cursor_of({"k": ["nan", SOME_ID]})),
    ({"sort": "distance", "lat": 0, "lon": 0}, cursor_of({"k": [-1e308, SOME_ID]})),
    ({"sort": "distance", "lat": 0, "lon": 0}, cursor_of({"k": [WHEN, SOME_ID]})),
]


class TestHostileFilters:
    @pytest.mark.parametrize(("params", "cursor"), FORGED)
    async def test_forged_cursors(
        self,
        request: pytest.FixtureRequest,
        backend: Backend,
        raw_client: httpx.AsyncClient,
        params: dict[str, Any],
        cursor: str,
    ) -> None:
        response = await ask(raw_client, "/events", {**params, "cursor": cursor})
        if response.status_code == 422:
            assert {error["field"] for error in response.json()["errors"]} == {"cursor"}

    @pytest.mark.parametrize(
        "params",
        [
            {"category": "\x00"},
            {"category": "music\x00"},
            {"category": "'; DROP TABLE events; --"},
            {"category": "🎷"},
            {"category": "%"},
            {"category": "x" * 41},
            {"category": "x" * 10_000},
            {"city": "\x00"},
            {"city": "Ber%"},
            {"city": "_erlin"},
            {"city": "x" * 121},
            {"city": "Berlin' OR '1'='1"},
            {"organization_id": "'; --"},
            {"organization_id": "\x00"},
            {"starts_after": "yesterday"},
            {"starts_after": "0001-01-01T00:00:00+14:00"},
            {"starts_before": "9999-12-31T23:59:59-14:00"},
            {"starts_after": "2030-02-30T00:00:00Z"},
            {"starts_after": "2030-01-01T00:00:00Z", "starts_before": "2020-01-01T00:00:00Z"},
            {"free": "maybe"},
            {"available": "\x00"},
            {"lat": "nan", "lon": "0"},
            {"lat": "0", "lon": "inf"},
            {"lat": "1e309", "lon": "0"},
            {"lat": "0", "lon": "0", "radius_km": "nan"},
            {"lat": "0", "lon": "0", "radius_km": "1e-300"},
            {"lat": "90", "lon": "180", "radius_km": "20000"},
            {"lat": "-90", "lon": "-180", "radius_km": "0.001"},
            {"sort": "'; --"},
            {"sort": "distance"},
            {"sort": "relevance"},
            {"fields": "id,password_hash"},
            {"limit": "0"},
        ],
        ids=lambda params: q_id(json.dumps(params)),
    )
    @pytest.mark.parametrize("path", ["/events", "/events/facets"])
    async def test_other_parameters(
        self,
        request: pytest.FixtureRequest,
        backend: Backend,
        raw_client: httpx.AsyncClient,
        path: str,
        params: dict[str, Any],
    ) -> None:
        await ask(raw_client, path, params)

    @pytest.mark.parametrize(
        "timezone",
        [
            "\x00",
            "UTC\x00",
            "Europe/Berlin'--",
            "../../etc/passwd",
            "/etc/localtime",
            "Europe/../Europe/Berlin",
            "",
            "x" * 65,
            "x" * 10_000,
            "🎷",
            "EST5EDT",
            "Etc/GMT+14",
            "Pacific/Kiritimati",
            "posix/Europe/Berlin",
            "localtime",
        ],
        ids=q_id,
    )
    async def test_hostile_time_zones(self, raw_client: httpx.AsyncClient, timezone: str) -> None:
        response = await ask(raw_client, "/events/facets", {"timezone": timezone})
        if response.status_code == 422:
            assert {error["field"] for error in response.json()["errors"]} == {"timezone"}

    async def test_ten_kilobytes_everywhere(self, raw_client: httpx.AsyncClient) -> None:
        big = "x" * 10_240
        for path in ("/events", "/events/suggest", "/events/facets"):
            response = await ask(raw_client, path, {"q": big})
            assert response.status_code == 422
        response = await ask(raw_client, "/events", {"city": big, "category": big})
        assert response.status_code == 422
