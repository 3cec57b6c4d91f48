"""Bad input gets a clear error and writes nothing (DESIGN.md invariant 5).

Every rejected request must answer with an RFC 9457 problem document; a 422 names the offending
field in ``errors[].field``; and the state the request tried to change is read back afterwards
to prove nothing was written. Server errors are never an answer to bad input: the ``http``
client below turns an unhandled exception into the 500 response a real client would get, so the
assertion reports the status instead of a traceback from inside the transport.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import (
    API,
    PASSWORD,
    Account,
    add_member,
    add_ticket_type,
    assert_problem,
    create_event,
    create_organization,
    event_payload,
    register,
    ticket_type_payload,
    unique_email,
)

MAX_BODY_BYTES = 1_048_576  # Settings.max_body_bytes, the default the test app runs with

# --- fixtures ---------------------------------------------------------------------------------


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Like conftest's ``client``, but a crash is a 500 response rather than an exception."""
    async with _client(app) as client:
        yield client


@dataclass(frozen=True)
class Desk:
    """What the module's requests act on: an organization with a draft event that has one EUR
    ticket type, a staff member whose role the member cases try to change, and a registered
    newcomer the member cases try to add. Shared, because registering is slow (argon2) and
    every test here must leave it unchanged anyway."""

    owner: Account
    member: Account
    newcomer: Account
    org_id: str
    event: dict[str, Any]
    ticket_type: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.event["id"])

    @property
    def starts_at(self) -> datetime:
        return datetime.fromisoformat(self.event["starts_at"])

    @property
    def ends_at(self) -> datetime:
        return datetime.fromisoformat(self.event["ends_at"])


@pytest.fixture(scope="module")
async def desk(app: FastAPI) -> Desk:
    async with _client(app) as client:
        owner, member, newcomer = [await register(client) for _ in range(3)]
        org_id = await create_organization(client, owner, name="Validation Org")
        await add_member(client, org_id, owner, member, "staff")
        event = await create_event(client, org_id, owner)
        ticket_type = await add_ticket_type(client, event["id"], owner)
    return Desk(owner, member, newcomer, org_id, event, ticket_type)


# --- reading state back -----------------------------------------------------------------------


async def organization_event_ids(client: httpx.AsyncClient, desk: Desk) -> list[str]:
    ids: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        response = await client.get(
            f"{API}/organizations/{desk.org_id}/events", params=params, headers=desk.owner.headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        ids.extend(item["id"] for item in body["data"])
        cursor = body["next_cursor"]
        if not cursor:
            return sorted(ids)


async def event_document(client: httpx.AsyncClient, desk: Desk) -> dict[str, Any]:
    response = await client.get(f"{API}/events/{desk.event_id}", headers=desk.owner.headers)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


async def ticket_types(client: httpx.AsyncClient, desk: Desk) -> list[dict[str, Any]]:
    response = await client.get(
        f"{API}/events/{desk.event_id}/ticket-types", headers=desk.owner.headers
    )
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def members(client: httpx.AsyncClient, desk: Desk) -> list[dict[str, Any]]:
    response = await client.get(
        f"{API}/organizations/{desk.org_id}/members",
        params={"limit": "100"},
        headers=desk.owner.headers,
    )
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def my_organizations(client: httpx.AsyncClient, desk: Desk) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/organizations", headers=desk.owner.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def organization(client: httpx.AsyncClient, desk: Desk) -> dict[str, Any]:
    response = await client.get(f"{API}/organizations/{desk.org_id}", headers=desk.owner.headers)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


# --- building bad bodies ----------------------------------------------------------------------

MISSING = object()  # as an override value: drop the key


def changed(base: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body = dict(base)
    for key, value in overrides.items():
        if value is MISSING:
            body.pop(key, None)
        else:
            body[key] = value
    return body


VENUE: dict[str, Any] = event_payload()["venue"]


def venue(**overrides: Any) -> dict[str, Any]:
    return changed(VENUE, **overrides)


def hours_from(moment: datetime, hours: float) -> str:
    return (moment + timedelta(hours=hours)).isoformat()


END_OF_TIME_WEST = "9999-12-31T23:00:00-01:00"  # valid RFC 3339, but past year 9999 in UTC
START_OF_TIME_EAST = "0001-01-01T00:30:00+01:00"  # valid RFC 3339, but before year 1 in UTC

BodyFactory = Callable[[Desk], Any]


def case(name: str, body: BodyFactory, field: str) -> Any:
    return pytest.param(body, field, id=name)


# --- accounts ---------------------------------------------------------------------------------


def registration(address: str, **overrides: Any) -> dict[str, Any]:
    return changed({"email": address, "password": PASSWORD, "name": "Ada Lovelace"}, **overrides)


REGISTER_CASES = [
    # (name, overrides, field, whether the e-mail in the body is the generated, valid one)
    ("email as number", {"email": 12345}, "email", False),
    ("email without at sign", {"email": "ada.example.com"}, "email", False),
    ("missing email", {"email": MISSING}, "email", False),
    ("name as number", {"name": 42}, "name", True),
    ("name as list", {"name": ["Ada"]}, "name", True),
    ("blank name", {"name": "   "}, "name", True),
    ("name over 200 characters", {"name": "x" * 201}, "name", True),
    ("missing name", {"name": MISSING}, "name", True),
    ("password as object", {"password": {"value": PASSWORD}}, "password", True),
    ("password over 256 characters", {"password": "Ab3$" * 65}, "password", True),
    ("missing password", {"password": MISSING}, "password", True),
    ("unknown field", {"role": "admin"}, "role", True),
]


class TestRegister:
    @pytest.mark.parametrize(
        ("overrides", "field", "email_is_valid"),
        [pytest.param(o, f, v, id=n) for n, o, f, v in REGISTER_CASES],
    )
    async def test_bad_body_is_422_and_creates_no_account(
        self,
        http: httpx.AsyncClient,
        overrides: dict[str, Any],
        field: str,
        email_is_valid: bool,
    ) -> None:
        email = unique_email("invalid")
        response = await http.post(f"{API}/auth/register", json=registration(email, **overrides))
        assert_problem(response, 422, field)
        if email_is_valid:
            login = await http.post(
                f"{API}/auth/login", json={"email": email, "password": PASSWORD}
            )
            assert_problem(login, 401)

    async def test_body_as_list_is_422_naming_body(self, http: httpx.AsyncClient) -> None:
        email = unique_email("invalid")
        response = await http.post(f"{API}/auth/register", json=[registration(email)])
        assert_problem(response, 422, "body")
        login = await http.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
        assert_problem(login, 401)


# --- organizations ----------------------------------------------------------------------------

ORGANIZATION_NAME_CASES = [
    case("name as number", lambda _d: {"name": 7}, "name"),
    case("name as list", lambda _d: {"name": ["Org"]}, "name"),
    case("name as object", lambda _d: {"name": {"en": "Org"}}, "name"),
    case("empty name", lambda _d: {"name": ""}, "name"),
    case("blank name", lambda _d: {"name": "   "}, "name"),
    case("name over 200 characters", lambda _d: {"name": "x" * 201}, "name"),
    case("missing name", lambda _d: {}, "name"),
    case("unknown field", lambda _d: {"name": "Org", "slug": "org"}, "slug"),
    case("body as list", lambda _d: [{"name": "Org"}], "body"),
]


class TestCreateOrganization:
    @pytest.mark.parametrize(("body", "field"), ORGANIZATION_NAME_CASES)
    async def test_bad_body_is_422_and_creates_nothing(
        self, http: httpx.AsyncClient, desk: Desk, body: BodyFactory, field: str
    ) -> None:
        before = await my_organizations(http, desk)
        response = await http.post(
            f"{API}/organizations", json=body(desk), headers=desk.owner.headers
        )
        assert_problem(response, 422, field)
        assert await my_organizations(http, desk) == before


class TestRenameOrganization:
    @pytest.mark.parametrize(("body", "field"), ORGANIZATION_NAME_CASES)
    async def test_bad_body_is_422_and_keeps_the_name(
        self, http: httpx.AsyncClient, desk: Desk, body: BodyFactory, field: str
    ) -> None:
        before = await organization(http, desk)
        response = await http.patch(
            f"{API}/organizations/{desk.org_id}", json=body(desk), headers=desk.owner.headers
        )
        assert_problem(response, 422, field)
        assert await organization(http, desk) == before


# --- events -----------------------------------------------------------------------------------


def event_with(**overrides: Any) -> BodyFactory:
    return lambda _desk: changed(event_payload(), **overrides)


def event_ending(hours_after_start: float) -> BodyFactory:
    def body(_desk: Desk) -> dict[str, Any]:
        payload = event_payload()
        starts = datetime.fromisoformat(payload["starts_at"])
        return changed(payload, ends_at=hours_from(starts, hours_after_start))

    return body


CREATE_EVENT_CASES = [
    # wrong types
    case("title as number", event_with(title=5), "title"),
    case("title as list", event_with(title=["Jazz"]), "title"),
    case("description as number", event_with(description=1), "description"),
    case("category as number", event_with(category=3), "category"),
    case("tags as string", event_with(tags="jazz"), "tags"),
    case("tag as number", event_with(tags=["jazz", 7]), "tags.1"),
    case("timezone as number", event_with(timezone=2), "timezone"),
    case("venue as list", event_with(venue=[VENUE]), "venue"),
    case("venue as string", event_with(venue="Quasimodo"), "venue"),
    case("lat as word", event_with(venue=venue(lat="north")), "venue.lat"),
    case("country as number", event_with(venue=venue(country=49)), "venue.country"),
    # timestamps
    case("starts_at as number", event_with(starts_at=1_800_000_000), "starts_at"),
    case("ends_at as number", event_with(ends_at=1_800_000_000.5), "ends_at"),
    case("starts_at without offset", event_with(starts_at="2027-03-01T19:30:00"), "starts_at"),
    case("starts_at as a date", event_with(starts_at="2027-03-01"), "starts_at"),
    case("starts_at as a word", event_with(starts_at="tomorrow"), "starts_at"),
    case("starts_at in month 13", event_with(starts_at="2027-13-01T19:30:00Z"), "starts_at"),
    case(
        "starts_at past year 9999 in UTC",
        event_with(starts_at=END_OF_TIME_WEST, ends_at="9999-12-31T23:30:00-01:00"),
        "starts_at",
    ),
    case("starts_at before year 1 in UTC", event_with(starts_at=START_OF_TIME_EAST), "starts_at"),
    case("ends_at before starts_at", event_ending(-1), "ends_at"),
    case("ends_at equal to starts_at", event_ending(0), "ends_at"),
    # vocabularies and ranges
    case("unknown time zone", event_with(timezone="Mars/Olympus"), "timezone"),
    case("offset instead of time zone", event_with(timezone="+02:00"), "timezone"),
    case("empty category", event_with(category="  "), "category"),
    case("category over 40 characters", event_with(category="c" * 41), "category"),
    case("lat above 90", event_with(venue=venue(lat=90.5)), "venue.lat"),
    case("lat below -90", event_with(venue=venue(lat=-91)), "venue.lat"),
    case("lon above 180", event_with(venue=venue(lon=180.5)), "venue.lon"),
    case("lat without lon", event_with(venue=venue(lon=MISSING)), "venue"),
    case("country in lower case", event_with(venue=venue(country="de")), "venue.country"),
    case("country with three letters", event_with(venue=venue(country="DEU")), "venue.country"),
    case("online_url not a URL", event_with(online_url="not a url"), "online_url"),
    # lengths
    case("blank title", event_with(title="   "), "title"),
    case("title over 200 characters", event_with(title="x" * 201), "title"),
    case("description over 20000 characters", event_with(description="x" * 20_001), "description"),
    case("more than 20 tags", event_with(tags=[f"tag{i}" for i in range(21)]), "tags"),
    # unknown and missing fields
    case("unknown field", event_with(status="published"), "status"),
    case("unknown venue field", event_with(venue=venue(zip="10623")), "venue.zip"),
    case("missing title", event_with(title=MISSING), "title"),
    case("missing category", event_with(category=MISSING), "category"),
    case("missing starts_at", event_with(starts_at=MISSING), "starts_at"),
    case("missing ends_at", event_with(ends_at=MISSING), "ends_at"),
    case("missing timezone", event_with(timezone=MISSING), "timezone"),
    case("body as list", lambda _d: [event_payload()], "body"),
    case("body as string", lambda _d: "Jazz at the Riverside", "body"),
]


class TestCreateEvent:
    @pytest.mark.parametrize(("body", "field"), CREATE_EVENT_CASES)
    async def test_bad_body_is_422_and_creates_nothing(
        self, http: httpx.AsyncClient, desk: Desk, body: BodyFactory, field: str
    ) -> None:
        before = await organization_event_ids(http, desk)
        response = await http.post(
            f"{API}/organizations/{desk.org_id}/events",
            json=body(desk),
            headers=desk.owner.headers,
        )
        assert_problem(response, 422, field)
        assert await organization_event_ids(http, desk) == before


def patch_of(**fields: Any) -> BodyFactory:
    return lambda _desk: fields


UPDATE_EVENT_CASES = [
    case("title as number", patch_of(title=5), "title"),
    case("title as null", patch_of(title=None), "title"),
    case("starts_at as null", patch_of(starts_at=None), "starts_at"),
    case("starts_at as number", patch_of(starts_at=0), "starts_at"),
    case("starts_at without offset", patch_of(starts_at="2027-03-01T19:30:00"), "starts_at"),
    case("ends_at past year 9999 in UTC", patch_of(ends_at=END_OF_TIME_WEST), "ends_at"),
    case(
        "ends_at before the current starts_at",
        lambda d: {"ends_at": hours_from(d.starts_at, -1)},
        "ends_at",
    ),
    case(
        "starts_at after the current ends_at",
        lambda d: {"starts_at": hours_from(d.ends_at, 1)},
        "ends_at",
    ),
    case(
        "ends_at equal to starts_at",
        lambda d: {"starts_at": hours_from(d.starts_at, 1), "ends_at": hours_from(d.starts_at, 1)},
        "ends_at",
    ),
    case("unknown time zone", patch_of(timezone="Mars/Olympus"), "timezone"),
    case("category over 40 characters", patch_of(category="c" * 41), "category"),
    case("tags as string", patch_of(tags="jazz"), "tags"),
    case("venue as list", patch_of(venue=[VENUE]), "venue"),
    case("lat above 90", patch_of(venue=venue(lat=91)), "venue.lat"),
    case("country in lower case", patch_of(venue=venue(country="de")), "venue.country"),
    case("status is not patchable", patch_of(status="published"), "status"),
    case("organization_id is not patchable", patch_of(organization_id="x"), "organization_id"),
    case("body as list", lambda _d: [{"title": "New"}], "body"),
]


class TestUpdateEvent:
    @pytest.mark.parametrize(("body", "field"), UPDATE_EVENT_CASES)
    async def test_bad_body_is_422_and_changes_nothing(
        self, http: httpx.AsyncClient, desk: Desk, body: BodyFactory, field: str
    ) -> None:
        before = await event_document(http, desk)
        response = await http.patch(
            f"{API}/events/{desk.event_id}", json=body(desk), headers=desk.owner.headers
        )
        assert_problem(response, 422, field)
        assert await event_document(http, desk) == before


# --- ticket types -----------------------------------------------------------------------------


def ticket_with(**overrides: Any) -> BodyFactory:
    return lambda _desk: changed(ticket_type_payload(), **overrides)


CREATE_TICKET_TYPE_CASES = [
    # money: strict integers in minor units, ISO 4217 codes
    case("negative price", ticket_with(price_amount=-1), "price_amount"),
    case("price as whole float", ticket_with(price_amount=25.0), "price_amount"),
    case("price as fractional float", ticket_with(price_amount=25.5), "price_amount"),
    case("price as numeric string", ticket_with(price_amount="2500"), "price_amount"),
    case("price as boolean", ticket_with(price_amount=True), "price_amount"),
    case("price over the maximum", ticket_with(price_amount=10**13), "price_amount"),
    case("currency EURO", ticket_with(currency="EURO"), "currency"),
    case("currency in lower case", ticket_with(currency="eur"), "currency"),
    case("currency as number", ticket_with(currency=978), "currency"),
    case("currency not in ISO 4217", ticket_with(currency="XYZ"), "currency"),
    case("currency unlike the event's", ticket_with(currency="USD"), "currency"),
    # quantities
    case("zero quantity", ticket_with(quantity=0), "quantity"),
    case("negative quantity", ticket_with(quantity=-5), "quantity"),
    case("quantity as string", ticket_with(quantity="10"), "quantity"),
    case("quantity as float", ticket_with(quantity=10.0), "quantity"),
    case("quantity over a million", ticket_with(quantity=1_000_001), "quantity"),
    case("zero max_per_order", ticket_with(max_per_order=0), "max_per_order"),
    case("max_per_order over 100", ticket_with(max_per_order=101), "max_per_order"),
    # names and windows
    case("empty name", ticket_with(name=""), "name"),
    case("name as number", ticket_with(name=5), "name"),
    case("name over 120 characters", ticket_with(name="x" * 121), "name"),
    case("sales_start as number", ticket_with(sales_start=0), "sales_start"),
    case(
        "sales_start without offset", ticket_with(sales_start="2027-01-01T10:00:00"), "sales_start"
    ),
    case(
        "sales_start past year 9999 in UTC",
        ticket_with(sales_start=END_OF_TIME_WEST),
        "sales_start",
    ),
    case(
        "sales_end before sales_start",
        ticket_with(sales_start="2027-01-02T10:00:00Z", sales_end="2027-01-01T10:00:00Z"),
        "sales_end",
    ),
    # unknown and missing fields
    case("unknown field", ticket_with(sold=5), "sold"),
    case("missing name", ticket_with(name=MISSING), "name"),
    case("missing price_amount", ticket_with(price_amount=MISSING), "price_amount"),
    case("missing currency", ticket_with(currency=MISSING), "currency"),
    case("missing quantity", ticket_with(quantity=MISSING), "quantity"),
    case("body as list", lambda _d: [ticket_type_payload()], "body"),
]


class TestCreateTicketType:
    @pytest.mark.parametrize(("body", "field"), CREATE_TICKET_TYPE_CASES)
    async def test_bad_body_is_422_and_creates_nothing(
        self, http: httpx.AsyncClient, desk: Desk, body: BodyFactory, field: str
    ) -> None:
        before = await ticket_types(http, desk)
        response = await http.post(
            f"{API}/events/{desk.event_id}/ticket-types",
            json=body(desk),
            headers=desk.owner.headers,
        )
        assert_problem(response, 422, field)
        assert await ticket_types(http, desk) == before


UPDATE_TICKET_TYPE_CASES = [
    case("negative price", patch_of(price_amount=-1), "price_amount"),
    case("price as float", patch_of(price_amount=10.0), "price_amount"),
    case("price as string", patch_of(price_amount="100"), "price_amount"),
    case("currency in lower case", patch_of(currency="eur"), "currency"),
    case("currency EURO", patch_of(currency="EURO"), "currency"),
    case("zero quantity", patch_of(quantity=0), "quantity"),
    case("negative quantity", patch_of(quantity=-1), "quantity"),
    case("quantity as string", patch_of(quantity="5"), "quantity"),
    case("name as null", patch_of(name=None), "name"),
    case("price as null", patch_of(price_amount=None), "price_amount"),
    case("currency as null", patch_of(currency=None), "currency"),
    case("quantity as null", patch_of(quantity=None), "quantity"),
    case("max_per_order as null", patch_of(max_per_order=None), "max_per_order"),
    case("sales_end without offset", patch_of(sales_end="2027-01-01T10:00:00"), "sales_end"),
    case(
        "sales_end before sales_start",
        patch_of(sales_start="2027-01-02T10:00:00Z", sales_end="2027-01-01T10:00:00Z"),
        "sales_end",
    ),
    case("event_id is not patchable", patch_of(event_id="x"), "event_id"),
    case("available is not patchable", patch_of(available=1000), "available"),
    case("body as list", lambda _d: [{"name": "New"}], "body"),
]


class TestUpdateTicketType:
    @pytest.mark.parametrize(("body", "field"), UPDATE_TICKET_TYPE_CASES)
    async def test_bad_body_is_422_and_changes_nothing(
        self, http: httpx.AsyncClient, desk: Desk, body: BodyFactory, field: str
    ) -> None:
        before = await ticket_types(http, desk)
        response = await http.patch(
            f"{API}/ticket-types/{desk.ticket_type['id']}",
            json=body(desk),
            headers=desk.owner.headers,
        )
        assert_problem(response, 422, field)
        assert await ticket_types(http, desk) == before


# --- members ----------------------------------------------------------------------------------


def newcomer_with(**overrides: Any) -> BodyFactory:
    return lambda desk: changed({"email": desk.newcomer.email, "role": "staff"}, **overrides)


ADD_MEMBER_CASES = [
    case("email as number", newcomer_with(email=42), "email"),
    case("email without at sign", newcomer_with(email="newcomer.example.com"), "email"),
    case("role owner cannot be given on joining", newcomer_with(role="owner"), "role"),
    case("unknown role", newcomer_with(role="superuser"), "role"),
    case("role as number", newcomer_with(role=1), "role"),
    case("missing email", newcomer_with(email=MISSING), "email"),
    case("missing role", newcomer_with(role=MISSING), "role"),
    case("unknown field", newcomer_with(name="Newcomer"), "name"),
    case("body as list", lambda d: [{"email": d.newcomer.email, "role": "staff"}], "body"),
]


class TestAddMember:
    @pytest.mark.parametrize(("body", "field"), ADD_MEMBER_CASES)
    async def test_bad_body_is_422_and_adds_nobody(
        self, http: httpx.AsyncClient, desk: Desk, body: BodyFactory, field: str
    ) -> None:
        before = await members(http, desk)
        response = await http.post(
            f"{API}/organizations/{desk.org_id}/members",
            json=body(desk),
            headers=desk.owner.headers,
        )
        assert_problem(response, 422, field)
        assert await members(http, desk) == before


CHANGE_ROLE_CASES = [
    case("unknown role", patch_of(role="god"), "role"),
    case("role as number", patch_of(role=2), "role"),
    case("role as null", patch_of(role=None), "role"),
    case("missing role", patch_of(), "role"),
    case("unknown field", patch_of(role="admin", email="x@example.com"), "email"),
]


class TestChangeMemberRole:
    @pytest.mark.parametrize(("body", "field"), CHANGE_ROLE_CASES)
    async def test_bad_body_is_422_and_keeps_the_role(
        self, http: httpx.AsyncClient, desk: Desk, body: BodyFactory, field: str
    ) -> None:
        before = await members(http, desk)
        response = await http.patch(
            f"{API}/organizations/{desk.org_id}/members/{desk.member.user_id}",
            json=body(desk),
            headers=desk.owner.headers,
        )
        assert_problem(response, 422, field)
        assert await members(http, desk) == before


# --- control characters: PostgreSQL cannot store NUL, so the API must refuse it --------------

NUL = "\u0000"


class TestControlCharacters:
    async def test_nul_in_event_title_is_422(self, http: httpx.AsyncClient, desk: Desk) -> None:
        before = await organization_event_ids(http, desk)
        response = await http.post(
            f"{API}/organizations/{desk.org_id}/events",
            json=event_payload(title=f"Jazz{NUL}"),
            headers=desk.owner.headers,
        )
        assert_problem(response, 422, "title")
        assert await organization_event_ids(http, desk) == before

    async def test_nul_in_event_description_patch_is_422(
        self, http: httpx.AsyncClient, desk: Desk
    ) -> None:
        before = await event_document(http, desk)
        response = await http.patch(
            f"{API}/events/{desk.event_id}",
            json={"description": f"An evening{NUL}"},
            headers=desk.owner.headers,
        )
        assert_problem(response, 422, "description")
        assert await event_document(http, desk) == before

    async def test_nul_in_ticket_type_name_is_422(
        self, http: httpx.AsyncClient, desk: Desk
    ) -> None:
        before = await ticket_types(http, desk)
        response = await http.post(
            f"{API}/events/{desk.event_id}/ticket-types",
            json=ticket_type_payload(name=f"Balcony{NUL}"),
            headers=desk.owner.headers,
        )
        assert_problem(response, 422, "name")
        assert await ticket_types(http, desk) == before

    async def test_nul_in_organization_name_is_422(
        self, http: httpx.AsyncClient, desk: Desk
    ) -> None:
        before = await my_organizations(http, desk)
        response = await http.post(
            f"{API}/organizations", json={"name": f"Org{NUL}"}, headers=desk.owner.headers
        )
        assert_problem(response, 422, "name")
        assert await my_organizations(http, desk) == before

    async def test_nul_in_user_name_is_422(self, http: httpx.AsyncClient) -> None:
        email = unique_email("invalid")
        response = await http.post(
            f"{API}/auth/register", json=registration(email, name=f"Ada{NUL}")
        )
        assert_problem(response, 422, "name")
        login = await http.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
        assert_problem(login, 401)

    @pytest.mark.parametrize("parameter", ["q", "city"])
    async def test_nul_in_search_is_not_a_server_error(
        self, http: httpx.AsyncClient, parameter: str
    ) -> None:
        response = await http.get(f"{API}/events", params={parameter: f"jazz{NUL}"})
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert_problem(response, response.status_code)


# --- body size --------------------------------------------------------------------------------


class TestBodySize:
    async def test_300_kb_title_under_the_body_limit_is_422_naming_title(
        self, http: httpx.AsyncClient, desk: Desk
    ) -> None:
        before = await organization_event_ids(http, desk)
        body = event_payload(title="x" * 300_000)
        assert len(json.dumps(body)) < MAX_BODY_BYTES
        response = await http.post(
            f"{API}/organizations/{desk.org_id}/events", json=body, headers=desk.owner.headers
        )
        assert_problem(response, 422, "title")
        assert await organization_event_ids(http, desk) == before

    async def test_body_over_one_mib_is_413(self, http: httpx.AsyncClient, desk: Desk) -> None:
        before = await organization_event_ids(http, desk)
        content = json.dumps(event_payload(description="x" * MAX_BODY_BYTES)).encode()
        response = await http.post(
            f"{API}/organizations/{desk.org_id}/events",
            content=content,
            headers={**desk.owner.headers, "Content-Type": "application/json"},
        )
        assert_problem(response, 413)
        assert await organization_event_ids(http, desk) == before

    async def test_chunked_body_over_one_mib_is_413(
        self, http: httpx.AsyncClient, desk: Desk
    ) -> None:
        """No Content-Length to refuse up front: the limit must hold while streaming."""
        before = await organization_event_ids(http, desk)
        content = json.dumps(event_payload(description="x" * MAX_BODY_BYTES)).encode()

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(content), 64 * 1024):
                yield content[start : start + 64 * 1024]

        response = await http.post(
            f"{API}/organizations/{desk.org_id}/events",
            content=chunks(),
            headers={**desk.owner.headers, "Content-Type": "application/json"},
        )
        assert_problem(response, 413)
        assert await organization_event_ids(http, desk) == before

    async def test_register_with_body_over_one_mib_is_413(self, http: httpx.AsyncClient) -> None:
        email = unique_email("invalid")
        content = json.dumps(registration(email, name="x" * MAX_BODY_BYTES)).encode()
        response = await http.post(
            f"{API}/auth/register", content=content, headers={"Content-Type": "application/json"}
        )
        assert_problem(response, 413)
        login = await http.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
        assert_problem(login, 401)


# --- JSON syntax and media type ---------------------------------------------------------------

MALFORMED_JSON = [
    pytest.param(b'{"title": ', id="truncated"),
    pytest.param(b'{"title": "Jazz",}', id="trailing comma"),
    pytest.param(b"{'title': 'Jazz'}", id="single quotes"),
    pytest.param(b'{"title": "Jazz"} {}', id="two documents"),
    pytest.param(b"\xff\xfe{}", id="not UTF-8"),
]


class TestMalformedJson:
    @pytest.mark.parametrize("content", MALFORMED_JSON)
    async def test_event_create_is_422_naming_body(
        self, http: httpx.AsyncClient, desk: Desk, content: bytes
    ) -> None:
        before = await organization_event_ids(http, desk)
        response = await http.post(
            f"{API}/organizations/{desk.org_id}/events",
            content=content,
            headers={**desk.owner.headers, "Content-Type": "application/json"},
        )
        assert_problem(response, 422, "body")
        assert await organization_event_ids(http, desk) == before

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("POST", "/auth/register"),
            ("POST", "/organizations"),
            ("PATCH", "/events/{event_id}"),
            ("POST", "/events/{event_id}/ticket-types"),
            ("PATCH", "/ticket-types/{ticket_type_id}"),
            ("POST", "/organizations/{org_id}/members"),
        ],
    )
    async def test_every_write_route_answers_422_naming_body(
        self, http: httpx.AsyncClient, desk: Desk, method: str, path: str
    ) -> None:
        url = API + path.format(
            event_id=desk.event_id, ticket_type_id=desk.ticket_type["id"], org_id=desk.org_id
        )
        response = await http.request(
            method,
            url,
            content=b'{"name": ',
            headers={**desk.owner.headers, "Content-Type": "application/json"},
        )
        assert_problem(response, 422, "body")

    @pytest.mark.parametrize(
        "content",
        [
            pytest.param(b'{"quantity": ' + b"9" * 5000 + b"}", id="5000-digit number"),
            pytest.param(b"[" * 100_000 + b"]" * 100_000, id="100000 nested arrays"),
        ],
    )
    async def test_json_the_parser_cannot_handle_is_a_client_error(
        self, http: httpx.AsyncClient, desk: Desk, content: bytes
    ) -> None:
        before = await ticket_types(http, desk)
        response = await http.post(
            f"{API}/events/{desk.event_id}/ticket-types",
            content=content,
            headers={**desk.owner.headers, "Content-Type": "application/json"},
        )
        assert response.status_code in {400, 413, 422}, response.text
        assert_problem(response, response.status_code)
        assert await ticket_types(http, desk) == before


class TestContentType:
    """API.md fixes JSON in; which 4xx a non-JSON media type gets is free (415 or 422)."""

    @pytest.mark.parametrize(
        "content_type",
        ["text/plain", "application/x-www-form-urlencoded", "application/xml"],
    )
    async def test_json_sent_as_another_media_type_is_refused(
        self, http: httpx.AsyncClient, desk: Desk, content_type: str
    ) -> None:
        before = await organization_event_ids(http, desk)
        response = await http.post(
            f"{API}/organizations/{desk.org_id}/events",
            content=json.dumps(event_payload()).encode(),
            headers={**desk.owner.headers, "Content-Type": content_type},
        )
        assert response.status_code in {415, 422}, response.text
        assert_problem(
            response, response.status_code, "body" if response.status_code == 422 else None
        )
        assert await organization_event_ids(http, desk) == before

    async def test_form_fields_are_refused(self, http: httpx.AsyncClient, desk: Desk) -> None:
        before = await organization_event_ids(http, desk)
        response = await http.post(
            f"{API}/organizations/{desk.org_id}/events",
            data={"title": "Jazz", "category": "music"},
            headers=desk.owner.headers,
        )
        assert response.status_code in {415, 422}, response.text
        assert_problem(response, response.status_code)
        assert await organization_event_ids(http, desk) == before


# --- query strings ----------------------------------------------------------------------------

PUBLIC_LISTING_CASES = [
    pytest.param({"cursor": "garbage"}, "cursor", id="cursor not base64 JSON"),
    pytest.param({"cursor": "eyJ4IjoxfQ"}, "cursor", id="cursor from another listing"),
    pytest.param({"cursor": "W10"}, "cursor", id="cursor not an object"),
    pytest.param({"cursor": "A" * 600}, "cursor", id="cursor too long"),
    pytest.param({"limit": "0"}, "limit", id="limit 0"),
    pytest.param({"limit": "101"}, "limit", id="limit 101"),
    pytest.param({"limit": "-1"}, "limit", id="negative limit"),
    pytest.param({"limit": "ten"}, "limit", id="limit as word"),
    pytest.param({"fields": "bogus"}, "fields", id="unknown field selected"),
    pytest.param({"fields": "id,bogus"}, "fields", id="one unknown field among known"),
    pytest.param({"starts_after": "yesterday"}, "starts_after", id="starts_after as word"),
    pytest.param(
        {"starts_after": "2027-01-01T00:00:00"}, "starts_after", id="starts_after without offset"
    ),
    pytest.param({"starts_before": "1700000000"}, "starts_before", id="starts_before as number"),
    pytest.param(
        {"starts_after": END_OF_TIME_WEST}, "starts_after", id="starts_after past year 9999"
    ),
    pytest.param({"lat": "52.5"}, "lon", id="lat without lon"),
    pytest.param({"lon": "13.4"}, "lat", id="lon without lat"),
    pytest.param({"lat": "91", "lon": "0"}, "lat", id="lat above 90"),
    pytest.param({"lat": "0", "lon": "-181"}, "lon", id="lon below -180"),
    pytest.param({"radius_km": "5"}, "radius_km", id="radius without a point"),
    pytest.param({"lat": "52.5", "lon": "13.4", "radius_km": "0"}, "radius_km", id="zero radius"),
    pytest.param({"category": "c" * 41}, "category", id="category over 40 characters"),
    pytest.param({"sort": "price"}, "sort", id="unknown sort"),
    pytest.param({"organization_id": "acme"}, "organization_id", id="organization_id not an id"),
    pytest.param({"free": "maybe"}, "free", id="free not a boolean"),
    pytest.param({"q": "x" * 201}, "q", id="q over 200 characters"),
]


class TestListEventsQuery:
    @pytest.mark.parametrize(("params", "field"), PUBLIC_LISTING_CASES)
    async def test_bad_parameter_is_422_naming_it(
        self, http: httpx.AsyncClient, params: dict[str, str], field: str
    ) -> None:
        assert_problem(await http.get(f"{API}/events", params=params), 422, field)


ORGANIZER_LISTING_CASES = [
    pytest.param("events", {"cursor": "garbage"}, "cursor", id="events cursor"),
    pytest.param("events", {"cursor": "eyJrIjpbMV19"}, "cursor", id="events foreign cursor"),
    pytest.param("events", {"limit": "0"}, "limit", id="events limit 0"),
    pytest.param("events", {"limit": "101"}, "limit", id="events limit 101"),
    pytest.param("events", {"status": "archived"}, "status", id="events unknown status"),
    pytest.param("members", {"cursor": "garbage"}, "cursor", id="members cursor"),
    pytest.param("members", {"cursor": "eyJ4IjoxfQ"}, "cursor", id="members foreign cursor"),
    pytest.param("members", {"limit": "0"}, "limit", id="members limit 0"),
    pytest.param("members", {"limit": "101"}, "limit", id="members limit 101"),
]


class TestOrganizerListingQuery:
    @pytest.mark.parametrize(("listing", "params", "field"), ORGANIZER_LISTING_CASES)
    async def test_bad_parameter_is_422_naming_it(
        self,
        http: httpx.AsyncClient,
        desk: Desk,
        listing: str,
        params: dict[str, str],
        field: str,
    ) -> None:
        response = await http.get(
            f"{API}/organizations/{desk.org_id}/{listing}",
            params=params,
            headers=desk.owner.headers,
        )
        assert_problem(response, 422, field)


# --- never a 500: random JSON ------------------------------------------------------------------

JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def _mutated(valid: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A valid body with some of its own fields dropped or replaced by random values: gets
    past the shape checks, so the field validators and the service are exercised too."""
    keys = sorted(valid)
    return st.fixed_dictionaries(
        {},
        optional={key: JSON_VALUES | st.just(valid[key]) for key in keys},
    )


def bodies(valid: dict[str, Any]) -> st.SearchStrategy[Any]:
    return JSON_VALUES | _mutated(valid)


RANDOM_INPUT = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def assert_not_a_server_error(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_problem(response, response.status_code)


class TestRandomBodies:
    @RANDOM_INPUT
    @given(body=bodies(event_payload()))
    async def test_event_create_never_answers_5xx(
        self, http: httpx.AsyncClient, desk: Desk, body: Any
    ) -> None:
        response = await http.post(
            f"{API}/organizations/{desk.org_id}/events", json=body, headers=desk.owner.headers
        )
        assert_not_a_server_error(response)

    @RANDOM_INPUT
    @given(body=bodies(ticket_type_payload()))
    async def test_ticket_type_create_never_answers_5xx(
        self, http: httpx.AsyncClient, desk: Desk, body: Any
    ) -> None:
        response = await http.post(
            f"{API}/events/{desk.event_id}/ticket-types", json=body, headers=desk.owner.headers
        )
        assert_not_a_server_error(response)
