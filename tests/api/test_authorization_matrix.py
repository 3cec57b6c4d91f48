"""Who may call what: every organizer route, every kind of caller (DESIGN.md invariant 4).

The rules (API.md, "Auth"):

* no token → 401;
* a resource the caller may not see → 404, never 403, so its existence does not leak;
* a visible resource whose action the caller's role does not allow → 403;
* roles nest: owner ⊃ admin ⊃ staff. Staff and above see the organization, its members and
  its events (drafts included); admin and above manage events, ticket types and members.

Each case of :data:`MATRIX` is run once per persona against a freshly built organization (the
same people, a new organization, event and ticket type), so a case that mutates state — cancel,
remove a member — cannot influence another. The guard tests below make the matrix exhaustive:
a route that is neither in the matrix nor on the explicit public/self-service list, or whose
dependencies declare no access policy, fails the suite.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from boxoffice.core.access import policy_of
from tests.helpers import (
    API,
    Account,
    add_member,
    add_ticket_type,
    assert_problem,
    create_event,
    create_organization,
    event_payload,
    publish,
    register,
    ticket_type_payload,
)

try:  # FastAPI >= 0.137 keeps included routers lazy; this flattens them again.
    from fastapi.routing import iter_route_contexts
except ImportError:  # pragma: no cover - older FastAPI flattens app.routes itself
    iter_route_contexts = None


# --- the people and the things they act on ---------------------------------------------------


class Persona(StrEnum):
    ANONYMOUS = "anonymous"
    OUTSIDER = "outsider"
    STAFF = "staff"
    ADMIN = "admin"
    OWNER = "owner"


@dataclass(frozen=True)
class Crew:
    """Accounts shared by the module (registering is slow: argon2). Organizations are not
    shared: every case builds its own with these people in it."""

    owner: Account
    admin: Account
    staff: Account
    outsider: Account  # owns an organization of their own, is in none of ours
    candidate: Account  # registered, joins organizations only when a case adds them
    home_org_id: str  # an organization with owner, admin and staff, for read-only checks

    def account(self, persona: Persona) -> Account | None:
        if persona is Persona.ANONYMOUS:
            return None
        account: Account = getattr(self, persona.value)
        return account

    def headers(self, persona: Persona) -> dict[str, str]:
        account = self.account(persona)
        return dict(account.headers) if account else {}


class Target(Enum):
    """What a case's path points at; built fresh for every test."""

    ORGANIZATION = "organization"
    DRAFT_EVENT = "draft event"
    PUBLISHED_EVENT = "published event"
    CANCELLED_EVENT = "cancelled event"
    DRAFT_TICKET_TYPE = "ticket type of a draft event"
    PUBLISHED_TICKET_TYPE = "ticket type of a published event"
    STAFF_MEMBER = "staff member"
    SOLE_OWNER = "the organization's only owner"


@dataclass(frozen=True)
class Stage:
    org_id: str
    event_id: str = ""
    ticket_type_id: str = ""
    user_id: str = ""

    def path(self, template: str) -> str:
        return API + template.format(
            org_id=self.org_id,
            event_id=self.event_id,
            ticket_type_id=self.ticket_type_id,
            user_id=self.user_id,
        )


async def organization_with_team(
    client: httpx.AsyncClient, owner: Account, admin: Account, staff: Account
) -> str:
    org_id = await create_organization(client, owner, name="Matrix Org")
    await add_member(client, org_id, owner, admin, "admin")
    await add_member(client, org_id, owner, staff, "staff")
    return org_id


async def build_stage(client: httpx.AsyncClient, crew: Crew, target: Target) -> Stage:
    org_id = await organization_with_team(client, crew.owner, crew.admin, crew.staff)
    if target is Target.ORGANIZATION:
        return Stage(org_id)
    if target is Target.STAFF_MEMBER:
        await add_member(client, org_id, crew.owner, crew.candidate, "staff")
        return Stage(org_id, user_id=crew.candidate.user_id)
    if target is Target.SOLE_OWNER:
        return Stage(org_id, user_id=crew.owner.user_id)
    event = await create_event(client, org_id, crew.owner)
    ticket_type = await add_ticket_type(client, event["id"], crew.owner)
    if target in {Target.PUBLISHED_EVENT, Target.PUBLISHED_TICKET_TYPE}:
        await publish(client, event["id"], crew.owner)
    if target is Target.CANCELLED_EVENT:
        response = await client.post(
            f"{API}/events/{event['id']}/cancel", headers=crew.owner.headers
        )
        assert response.status_code == 200, response.text
    return Stage(org_id, event_id=event["id"], ticket_type_id=ticket_type["id"])


# --- the matrix -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    anonymous: int
    outsider: int
    staff: int
    admin: int
    owner: int

    def status_for(self, persona: Persona) -> int:
        status: int = getattr(self, persona.value)
        return status


MEMBERS_SEE = Expect(anonymous=401, outsider=404, staff=200, admin=200, owner=200)
ADMINS_CHANGE = Expect(anonymous=401, outsider=404, staff=403, admin=200, owner=200)
ADMINS_CREATE = Expect(anonymous=401, outsider=404, staff=403, admin=201, owner=201)
ADMINS_DELETE = Expect(anonymous=401, outsider=404, staff=403, admin=204, owner=204)
OWNERS_ONLY = Expect(anonymous=401, outsider=404, staff=403, admin=403, owner=200)
KEEPS_LAST_OWNER = Expect(anonymous=401, outsider=404, staff=403, admin=403, owner=409)
# Not published: invisible (404) to everyone outside the organization, signed in or not.
MEMBERS_SEE_UNPUBLISHED = Expect(anonymous=404, outsider=404, staff=200, admin=200, owner=200)
EVERYONE_SEES = Expect(anonymous=200, outsider=200, staff=200, admin=200, owner=200)
# A published event (and its ticket types) is visible to everybody, so an outsider who tries to
# change it is refused with 403 — API.md: "an action on a visible resource that the caller's
# role does not allow is 403". Nothing leaks: the outsider can already GET the resource.
ADMINS_CHANGE_PUBLIC = Expect(anonymous=401, outsider=403, staff=403, admin=200, owner=200)
ADMINS_CREATE_UNDER_PUBLIC = Expect(anonymous=401, outsider=403, staff=403, admin=201, owner=201)

Body = Callable[[Crew], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    template: str  # relative to /api/v1, exactly as the route declares it
    target: Target
    expect: Expect
    body: Body | None = None

    @property
    def route(self) -> tuple[str, str]:
        return self.method, API + self.template


def _fixed(body: dict[str, Any]) -> Body:
    return lambda _crew: body


MATRIX: list[Case] = [
    # organizations
    Case("get organization", "GET", "/organizations/{org_id}", Target.ORGANIZATION, MEMBERS_SEE),
    Case(
        "rename organization",
        "PATCH",
        "/organizations/{org_id}",
        Target.ORGANIZATION,
        ADMINS_CHANGE,
        _fixed({"name": "Renamed"}),
    ),
    # members
    Case(
        "list members",
        "GET",
        "/organizations/{org_id}/members",
        Target.ORGANIZATION,
        MEMBERS_SEE,
    ),
    Case(
        "add member",
        "POST",
        "/organizations/{org_id}/members",
        Target.ORGANIZATION,
        ADMINS_CREATE,
        lambda crew: {"email": crew.candidate.email, "role": "staff"},
    ),
    Case(
        "promote staff to admin",
        "PATCH",
        "/organizations/{org_id}/members/{user_id}",
        Target.STAFF_MEMBER,
        ADMINS_CHANGE,
        _fixed({"role": "admin"}),
    ),
    Case(
        "grant the owner role",
        "PATCH",
        "/organizations/{org_id}/members/{user_id}",
        Target.STAFF_MEMBER,
        OWNERS_ONLY,
        _fixed({"role": "owner"}),
    ),
    Case(
        "demote the last owner",
        "PATCH",
        "/organizations/{org_id}/members/{user_id}",
        Target.SOLE_OWNER,
        KEEPS_LAST_OWNER,
        _fixed({"role": "admin"}),
    ),
    Case(
        "remove staff member",
        "DELETE",
        "/organizations/{org_id}/members/{user_id}",
        Target.STAFF_MEMBER,
        ADMINS_DELETE,
    ),
    Case(
        "remove the last owner",
        "DELETE",
        "/organizations/{org_id}/members/{user_id}",
        Target.SOLE_OWNER,
        KEEPS_LAST_OWNER,
    ),
    # events of an organization
    Case(
        "create event",
        "POST",
        "/organizations/{org_id}/events",
        Target.ORGANIZATION,
        ADMINS_CREATE,
        lambda _crew: event_payload(),
    ),
    Case(
        "list organization events",
        "GET",
        "/organizations/{org_id}/events",
        Target.ORGANIZATION,
        MEMBERS_SEE,
    ),
    # one event
    Case(
        "get draft event", "GET", "/events/{event_id}", Target.DRAFT_EVENT, MEMBERS_SEE_UNPUBLISHED
    ),
    Case(
        "get cancelled event",
        "GET",
        "/events/{event_id}",
        Target.CANCELLED_EVENT,
        MEMBERS_SEE_UNPUBLISHED,
    ),
    Case("get published event", "GET", "/events/{event_id}", Target.PUBLISHED_EVENT, EVERYONE_SEES),
    Case(
        "update draft event",
        "PATCH",
        "/events/{event_id}",
        Target.DRAFT_EVENT,
        ADMINS_CHANGE,
        _fixed({"title": "A new title"}),
    ),
    Case(
        "update published event",
        "PATCH",
        "/events/{event_id}",
        Target.PUBLISHED_EVENT,
        ADMINS_CHANGE_PUBLIC,
        _fixed({"title": "A new title"}),
    ),
    Case(
        "publish draft event",
        "POST",
        "/events/{event_id}/publish",
        Target.DRAFT_EVENT,
        ADMINS_CHANGE,
    ),
    Case(
        "cancel draft event", "POST", "/events/{event_id}/cancel", Target.DRAFT_EVENT, ADMINS_CHANGE
    ),
    Case(
        "cancel published event",
        "POST",
        "/events/{event_id}/cancel",
        Target.PUBLISHED_EVENT,
        ADMINS_CHANGE_PUBLIC,
    ),
    # ticket types
    Case(
        "list ticket types of draft event",
        "GET",
        "/events/{event_id}/ticket-types",
        Target.DRAFT_EVENT,
        MEMBERS_SEE_UNPUBLISHED,
    ),
    Case(
        "list ticket types of cancelled event",
        "GET",
        "/events/{event_id}/ticket-types",
        Target.CANCELLED_EVENT,
        MEMBERS_SEE_UNPUBLISHED,
    ),
    Case(
        "list ticket types of published event",
        "GET",
        "/events/{event_id}/ticket-types",
        Target.PUBLISHED_EVENT,
        EVERYONE_SEES,
    ),
    Case(
        "add ticket type to draft event",
        "POST",
        "/events/{event_id}/ticket-types",
        Target.DRAFT_EVENT,
        ADMINS_CREATE,
        lambda _crew: ticket_type_payload(name="Balcony"),
    ),
    Case(
        "add ticket type to published event",
        "POST",
        "/events/{event_id}/ticket-types",
        Target.PUBLISHED_EVENT,
        ADMINS_CREATE_UNDER_PUBLIC,
        lambda _crew: ticket_type_payload(name="Balcony"),
    ),
    Case(
        "update ticket type of draft event",
        "PATCH",
        "/ticket-types/{ticket_type_id}",
        Target.DRAFT_TICKET_TYPE,
        ADMINS_CHANGE,
        _fixed({"name": "Early bird"}),
    ),
    Case(
        "update ticket type of published event",
        "PATCH",
        "/ticket-types/{ticket_type_id}",
        Target.PUBLISHED_TICKET_TYPE,
        ADMINS_CHANGE_PUBLIC,
        _fixed({"name": "Early bird"}),
    ),
]

# Routes that are deliberately outside the organizer matrix: open to anyone, or about the caller
# themselves. Adding a route here is a decision a reviewer should see.
PUBLIC_OR_SELF_SERVICE: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", f"{API}/auth/register"),
        ("POST", f"{API}/auth/login"),
        ("POST", f"{API}/auth/refresh"),
        ("POST", f"{API}/auth/logout"),
        ("GET", f"{API}/me"),
        ("POST", f"{API}/organizations"),
        ("GET", f"{API}/organizations"),
        ("GET", f"{API}/events"),
        ("GET", f"{API}/events/suggest"),
        ("GET", f"{API}/events/facets"),
        ("GET", f"{API}/categories"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
    }
)


def _matrix_params() -> Iterator[Any]:
    for case in MATRIX:
        for persona in Persona:
            yield pytest.param(case, persona, id=f"{case.name} as {persona.value}")


# --- fixtures ---------------------------------------------------------------------------------


@asynccontextmanager
async def api_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture(scope="module")
async def crew(app: FastAPI) -> Crew:
    async with api_client(app) as client:
        owner, admin, staff, outsider, candidate = [await register(client) for _ in range(5)]
        await create_organization(client, outsider, name="Someone else's")
        home_org_id = await organization_with_team(client, owner, admin, staff)
    return Crew(owner, admin, staff, outsider, candidate, home_org_id)


async def call(
    client: httpx.AsyncClient, case: Case, stage: Stage, crew: Crew, headers: dict[str, str]
) -> httpx.Response:
    body = case.body(crew) if case.body else None
    return await client.request(case.method, stage.path(case.template), json=body, headers=headers)


def forged_token(account: Account) -> str:
    """The account's own claims, signed with a key the server does not know."""
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    return jwt.encode(claims, "not-the-server-key-" + "x" * 32, algorithm="HS256")


# --- the matrix, run --------------------------------------------------------------------------


class TestAuthorizationMatrix:
    @pytest.mark.parametrize(("case", "persona"), list(_matrix_params()))
    async def test_status_for_persona(
        self, client: httpx.AsyncClient, crew: Crew, case: Case, persona: Persona
    ) -> None:
        stage = await build_stage(client, crew, case.target)
        response = await call(client, case, stage, crew, crew.headers(persona))
        expected = case.expect.status_for(persona)
        assert response.status_code == expected, (
            f"{case.method} {case.template} on a {case.target.value} as {persona.value}: "
            f"expected {expected}, got {response.status_code}: {response.text}"
        )
        if expected >= 400:
            assert_problem(response, expected)

    @pytest.mark.parametrize("case", MATRIX, ids=[case.name for case in MATRIX])
    async def test_forged_token_is_401(
        self, client: httpx.AsyncClient, crew: Crew, case: Case
    ) -> None:
        stage = await build_stage(client, crew, case.target)
        headers = {"Authorization": f"Bearer {forged_token(crew.owner)}"}
        response = await call(client, case, stage, crew, headers)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"].lower().startswith("bearer")


class TestDeniedRequestsChangeNothing:
    """A refused write leaves no trace (spot checks of the matrix's mutating rows)."""

    async def test_staff_cannot_cancel_and_event_stays_draft(
        self, client: httpx.AsyncClient, crew: Crew
    ) -> None:
        stage = await build_stage(client, crew, Target.DRAFT_EVENT)
        response = await client.post(
            stage.path("/events/{event_id}/cancel"), headers=crew.staff.headers
        )
        assert_problem(response, 403)
        event = await client.get(stage.path("/events/{event_id}"), headers=crew.owner.headers)
        assert event.json()["status"] == "draft"

    async def test_admin_cannot_remove_owner_and_owner_stays(
        self, client: httpx.AsyncClient, crew: Crew
    ) -> None:
        stage = await build_stage(client, crew, Target.SOLE_OWNER)
        response = await client.delete(
            stage.path("/organizations/{org_id}/members/{user_id}"), headers=crew.admin.headers
        )
        assert_problem(response, 403)
        members = await client.get(
            stage.path("/organizations/{org_id}/members"), headers=crew.owner.headers
        )
        roles = {member["user_id"]: member["role"] for member in members.json()["data"]}
        assert roles[crew.owner.user_id] == "owner"

    async def test_outsider_cannot_rename_and_name_stays(
        self, client: httpx.AsyncClient, crew: Crew
    ) -> None:
        stage = await build_stage(client, crew, Target.ORGANIZATION)
        response = await client.patch(
            stage.path("/organizations/{org_id}"),
            json={"name": "Hijacked"},
            headers=crew.outsider.headers,
        )
        assert_problem(response, 404)
        organization = await client.get(
            stage.path("/organizations/{org_id}"), headers=crew.owner.headers
        )
        assert organization.json()["name"] == "Matrix Org"


# --- guards: the matrix covers every route, every route states its policy ---------------------


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    dependant: Dependant

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path


def api_routes(app: FastAPI) -> list[RouteInfo]:
    """Every (method, full path) the app serves through an APIRoute, included routers
    expanded, each with its effective dependency tree (include-time dependencies too)."""
    if iter_route_contexts is None:  # pragma: no cover - FastAPI < 0.137
        contexts: list[Any] = list(app.routes)
    else:
        contexts = list(iter_route_contexts(app.routes))
    routes: list[RouteInfo] = []
    for context in contexts:
        original = getattr(context, "original_route", context)
        if not isinstance(original, APIRoute):
            continue  # the OpenAPI document and the docs page: Starlette routes, public
        for method in sorted(context.methods):
            routes.append(RouteInfo(method, context.path, context.dependant))
    return routes


def dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from dependency_calls(sub)


def access_policies(dependant: Dependant) -> set[str]:
    return {policy for call in dependency_calls(dependant) if (policy := policy_of(call))}


MATRIX_ROUTES: frozenset[tuple[str, str]] = frozenset(case.route for case in MATRIX)


class TestEveryRouteHasARule:
    def test_route_enumeration_sees_the_app(self, app: FastAPI) -> None:
        """Guard the guard: if FastAPI changes how routers are stored, fail loudly instead
        of checking an empty list."""
        keys = {route.key for route in api_routes(app)}
        assert ("GET", f"{API}/events/{{event_id}}") in keys
        assert ("GET", "/healthz") in keys
        assert len(keys) >= len(MATRIX_ROUTES | PUBLIC_OR_SELF_SERVICE)

    def test_every_route_is_in_the_matrix_or_declared_public(self, app: FastAPI) -> None:
        unclassified = sorted(
            f"{route.method} {route.path}"
            for route in api_routes(app)
            if route.key not in MATRIX_ROUTES and route.key not in PUBLIC_OR_SELF_SERVICE
        )
        assert not unclassified, (
            "routes without an authorization rule in tests/api/test_authorization_matrix.py "
            f"(add them to MATRIX, or to PUBLIC_OR_SELF_SERVICE if anyone may call them): "
            f"{unclassified}"
        )

    def test_matrix_names_only_existing_routes(self, app: FastAPI) -> None:
        served = {route.key for route in api_routes(app)}
        stale = sorted(f"{method} {path}" for method, path in MATRIX_ROUTES - served)
        assert not stale, f"the matrix tests routes the app does not serve: {stale}"
        missing = sorted(f"{method} {path}" for method, path in PUBLIC_OR_SELF_SERVICE - served)
        assert not missing, f"PUBLIC_OR_SELF_SERVICE names routes the app does not serve: {missing}"

    def test_every_route_declares_an_access_policy(self, app: FastAPI) -> None:
        without_policy = sorted(
            f"{route.method} {route.path}"
            for route in api_routes(app)
            if not access_policies(route.dependant)
        )
        assert not without_policy, (
            "routes whose dependencies include no @access_policy callable "
            f"(see boxoffice.core.access): {without_policy}"
        )


# --- malformed ids name nothing: 404, never 422 or 500 ---------------------------------------

MALFORMED_IDS = [
    "not-a-uuid",
    "123",
    "00000000-0000-0000-0000-00000000000g",
    "%C3%A9t%C3%A9",  # "été"
    "a" * 300,
    "1%20OR%201%3D1",
]

# (method, template with {bad} in the id's place, body)
ID_ROUTES: list[tuple[str, str, Body | None]] = [
    ("GET", "/organizations/{bad}", None),
    ("PATCH", "/organizations/{bad}", _fixed({"name": "Renamed"})),
    ("GET", "/organizations/{bad}/members", None),
    (
        "POST",
        "/organizations/{bad}/members",
        lambda crew: {"email": crew.candidate.email, "role": "staff"},
    ),
    ("PATCH", "/organizations/{org_id}/members/{bad}", _fixed({"role": "admin"})),
    ("DELETE", "/organizations/{org_id}/members/{bad}", None),
    ("GET", "/organizations/{bad}/events", None),
    ("POST", "/organizations/{bad}/events", lambda _crew: event_payload()),
    ("GET", "/events/{bad}", None),
    ("PATCH", "/events/{bad}", _fixed({"title": "A new title"})),
    ("POST", "/events/{bad}/publish", None),
    ("POST", "/events/{bad}/cancel", None),
    ("GET", "/events/{bad}/ticket-types", None),
    ("POST", "/events/{bad}/ticket-types", lambda _crew: ticket_type_payload()),
    ("PATCH", "/ticket-types/{bad}", _fixed({"name": "Early bird"})),
]


def _id_route_params() -> Iterator[Any]:
    for method, template, body in ID_ROUTES:
        for bad in MALFORMED_IDS:
            yield pytest.param(method, template, body, bad, id=f"{method} {template} {bad[:16]}")


class TestMalformedIds:
    @pytest.mark.parametrize(("method", "template", "body", "bad"), list(_id_route_params()))
    async def test_is_404_problem_for_the_owner(
        self,
        client: httpx.AsyncClient,
        crew: Crew,
        method: str,
        template: str,
        body: Body | None,
        bad: str,
    ) -> None:
        path = API + template.format(bad=bad, org_id=crew.home_org_id)
        response = await client.request(
            method, path, json=body(crew) if body else None, headers=crew.owner.headers
        )
        assert_problem(response, 404)

    @pytest.mark.parametrize("bad", MALFORMED_IDS, ids=[bad[:16] for bad in MALFORMED_IDS])
    async def test_public_event_route_is_404_problem_for_anonymous(
        self, client: httpx.AsyncClient, bad: str
    ) -> None:
        assert_problem(await client.get(f"{API}/events/{bad}"), 404)
        assert_problem(await client.get(f"{API}/events/{bad}/ticket-types"), 404)

    async def test_well_formed_unknown_id_is_also_404(
        self, client: httpx.AsyncClient, crew: Crew
    ) -> None:
        unknown = "00000000-0000-4000-8000-000000000000"
        for path in (f"/events/{unknown}", f"/organizations/{unknown}", f"/ticket-types/{unknown}"):
            method = "PATCH" if path.startswith("/ticket-types") else "GET"
            response = await client.request(
                method,
                API + path,
                json={"name": "x"} if method == "PATCH" else None,
                headers=crew.owner.headers,
            )
            assert_problem(response, 404)
