"""Who may call what: every organizer route, every kind of caller (DESIGN.md invariant 4).

The rules (API.md, "Auth"):

* no token → 401;
* a resource the caller may not see → 404, never 403, so its existence does not leak;
* a visible resource whose action the caller's role does not allow → 403;
* roles nest: owner ⊃ admin ⊃ staff. Staff and above see the organization, its members and
  its events (drafts included); admin and above manage events, ticket types and members.

Each case of :data:`MATRIX` is run once per persona against a freshly built organization (the
same people, a new organization, event and ticket type — and, for the order and ticket routes, a
new order), so a case that mutates state — cancel, pay, remove a member — cannot influence
another.

Orders and tickets add a sixth persona, the *buyer*: a signed-in customer who belongs to no
organization and bought the stage's order (so holds its tickets). To the organization they are an
outsider, and unless a case says otherwise they get exactly what the outsider gets; on their own
order they are the buyer (API.md: "the buyer or the organization's admins; else 404"). The
outsider never buys anything, so for orders they stay the "anyone else" who must get 404.

The guard tests below make the matrix exhaustive: a route that is neither in the matrix nor on
the explicit public/self-service list, or whose dependencies declare no access policy, fails the
suite.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
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
    BUYER = "buyer"
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
    buyer: Account  # in no organization; buys the order of the order and ticket targets

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
    PENDING_ORDER = "pending order of the buyer"
    STAFF_ORDER = "pending order a staff member placed for themselves"
    PAID_ORDER = "paid order of the buyer, with its ticket"
    SOLD_OUT_TICKET_TYPE = "sold-out ticket type of a published event"
    WAITED_FOR_TICKET_TYPE = "sold-out ticket type every signed-in persona is waiting for"


PUBLISHED_TARGETS = frozenset(
    {
        Target.PUBLISHED_EVENT,
        Target.PUBLISHED_TICKET_TYPE,
        Target.PENDING_ORDER,
        Target.STAFF_ORDER,
        Target.PAID_ORDER,
        Target.SOLD_OUT_TICKET_TYPE,
        Target.WAITED_FOR_TICKET_TYPE,
    }
)
SOLD_OUT_TARGETS = frozenset({Target.SOLD_OUT_TICKET_TYPE, Target.WAITED_FOR_TICKET_TYPE})
GOOD_CARD = "4242424242424242"
PAY_BODY = {"payment_method": {"type": "test_card", "number": GOOD_CARD}}


@dataclass(frozen=True)
class Stage:
    org_id: str
    event_id: str = ""
    ticket_type_id: str = ""
    user_id: str = ""
    order_id: str = ""
    ticket_id: str = ""
    ticket_code: str = ""

    def path(self, template: str) -> str:
        return API + template.format(
            org_id=self.org_id,
            event_id=self.event_id,
            ticket_type_id=self.ticket_type_id,
            user_id=self.user_id,
            order_id=self.order_id,
            ticket_id=self.ticket_id,
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
    quantity = 1 if target in SOLD_OUT_TARGETS else 100
    ticket_type = await add_ticket_type(client, event["id"], crew.owner, quantity=quantity)
    if target in PUBLISHED_TARGETS:
        await publish(client, event["id"], crew.owner)
    if target is Target.CANCELLED_EVENT:
        response = await client.post(
            f"{API}/events/{event['id']}/cancel", headers=crew.owner.headers
        )
        assert response.status_code == 200, response.text
    stage = Stage(org_id, event_id=event["id"], ticket_type_id=ticket_type["id"])
    if target in {Target.PENDING_ORDER, Target.PAID_ORDER, Target.SOLD_OUT_TICKET_TYPE}:
        stage = await place_order(
            client, stage, crew.buyer, paid=target is not Target.PENDING_ORDER
        )
    if target is Target.STAFF_ORDER:
        stage = await place_order(client, stage, crew.staff, paid=False)
    if target is Target.WAITED_FOR_TICKET_TYPE:
        stage = await place_order(client, stage, crew.candidate, paid=True)
        for persona in Persona:
            if account := crew.account(persona):
                response = await client.post(
                    stage.path("/ticket-types/{ticket_type_id}/waitlist"),
                    json={},
                    headers=account.headers,
                )
                assert response.status_code == 201, response.text
    return stage


def order_body(stage: Stage) -> dict[str, Any]:
    return {"items": [{"ticket_type_id": stage.ticket_type_id, "quantity": 1}]}


async def place_order(
    client: httpx.AsyncClient, stage: Stage, buyer: Account, *, paid: bool
) -> Stage:
    """``buyer`` orders one seat of the stage's ticket type (and pays for it when ``paid``)."""
    response = await client.post(
        stage.path("/events/{event_id}/orders"), json=order_body(stage), headers=buyer.headers
    )
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "pending", order
    if not paid:
        return replace(stage, order_id=order["id"])
    response = await client.post(
        stage.path(f"/orders/{order['id']}/pay"), json=PAY_BODY, headers=buyer.headers
    )
    assert response.status_code == 200, response.text
    ticket = response.json()["tickets"][0]
    return replace(stage, order_id=order["id"], ticket_id=ticket["id"], ticket_code=ticket["code"])


# --- the matrix -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    anonymous: int
    outsider: int
    staff: int
    admin: int
    owner: int
    buyer: int | None = None  # None: as the outsider (the buyer is in no organization)

    def status_for(self, persona: Persona) -> int:
        if persona is Persona.BUYER and self.buyer is None:
            return self.outsider
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
# Organizer reads (orders, promo codes): admins only. Of a published event, the others are 403.
ADMINS_SEE = Expect(anonymous=401, outsider=404, staff=403, admin=200, owner=200)
ADMINS_SEE_PUBLIC = Expect(anonymous=401, outsider=403, staff=403, admin=200, owner=200)
# Orders and tickets.
ANYONE_SIGNED_IN_BUYS = Expect(anonymous=401, outsider=201, staff=201, admin=201, owner=201)
# A draft is not on sale and not in the shop: 404 for every buyer, members included (their
# GET /events/{id} shows the draft, but there is nothing to buy yet).
NOT_ON_SALE = Expect(anonymous=401, outsider=404, staff=404, admin=404, owner=404)
# (An event cancelled after it was published answers buyers 409 `event-cancelled`: its sale was
# public. A draft cancelled unpublished, this matrix's "cancelled event", stays unknown: 404.)
BUYER_OR_ADMINS_SEE = Expect(
    anonymous=401, outsider=404, staff=404, admin=200, owner=200, buyer=200
)
# Only the buyer pays; the organization's admins see the order, so they are refused with 403.
ONLY_THE_BUYER_PAYS = Expect(
    anonymous=401, outsider=404, staff=404, admin=403, owner=403, buyer=200
)
BUYER_OR_ADMINS_CANCEL = BUYER_OR_ADMINS_SEE
# A staff member's own order: they are its buyer; the customer buyer is "anyone else" here.
STAFF_BUYER_SEES = Expect(anonymous=401, outsider=404, staff=200, admin=200, owner=200, buyer=404)
STAFF_BUYER_PAYS = Expect(anonymous=401, outsider=404, staff=200, admin=403, owner=403, buyer=404)
ANYONE_SIGNED_IN_JOINS = Expect(
    anonymous=401, outsider=201, staff=201, admin=201, owner=201, buyer=201
)
ANYONE_SIGNED_IN_LEAVES = Expect(
    anonymous=401, outsider=204, staff=204, admin=204, owner=204, buyer=204
)

# A ticket: its holder (the buyer) and the organization's staff and above; 404 to anyone else.
HOLDER_OR_STAFF_SEE = Expect(
    anonymous=401, outsider=404, staff=200, admin=200, owner=200, buyer=200
)
# The door (check-in, the list for offline scanners): staff and above. A published event is
# visible, so anyone else signed in is refused with 403 — its ticket holder too.
STAFF_CHECK_IN_PUBLIC = Expect(anonymous=401, outsider=403, staff=201, admin=201, owner=201)
STAFF_SEE_PUBLIC = Expect(anonymous=401, outsider=403, staff=200, admin=200, owner=200)

Body = Callable[[Crew, Stage], dict[str, Any]]


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
    return lambda _crew, _stage: body


def _order(_crew: Crew, stage: Stage) -> dict[str, Any]:
    return order_body(stage)


def _check_in(_crew: Crew, stage: Stage) -> dict[str, Any]:
    return {"code": stage.ticket_code}


def _scans(_crew: Crew, stage: Stage) -> dict[str, Any]:
    scanned_at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    return {"scans": [{"code": stage.ticket_code, "scanned_at": scanned_at}]}


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
        lambda crew, _stage: {"email": crew.candidate.email, "role": "staff"},
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
        lambda _crew, _stage: event_payload(),
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
        lambda _crew, _stage: ticket_type_payload(name="Balcony"),
    ),
    Case(
        "add ticket type to published event",
        "POST",
        "/events/{event_id}/ticket-types",
        Target.PUBLISHED_EVENT,
        ADMINS_CREATE_UNDER_PUBLIC,
        lambda _crew, _stage: ticket_type_payload(name="Balcony"),
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
    # buying
    Case(
        "buy tickets of published event",
        "POST",
        "/events/{event_id}/orders",
        Target.PUBLISHED_EVENT,
        ANYONE_SIGNED_IN_BUYS,
        _order,
    ),
    Case(
        "buy tickets of draft event",
        "POST",
        "/events/{event_id}/orders",
        Target.DRAFT_EVENT,
        NOT_ON_SALE,
        _order,
    ),
    Case(
        "buy tickets of a draft cancelled unpublished",
        "POST",
        "/events/{event_id}/orders",
        Target.CANCELLED_EVENT,
        NOT_ON_SALE,
        _order,
    ),
    # one order
    Case("get order", "GET", "/orders/{order_id}", Target.PENDING_ORDER, BUYER_OR_ADMINS_SEE),
    Case(
        "get a staff member's own order",
        "GET",
        "/orders/{order_id}",
        Target.STAFF_ORDER,
        STAFF_BUYER_SEES,
    ),
    Case(
        "pay order",
        "POST",
        "/orders/{order_id}/pay",
        Target.PENDING_ORDER,
        ONLY_THE_BUYER_PAYS,
        _fixed(PAY_BODY),
    ),
    Case(
        "pay a staff member's own order",
        "POST",
        "/orders/{order_id}/pay",
        Target.STAFF_ORDER,
        STAFF_BUYER_PAYS,
        _fixed(PAY_BODY),
    ),
    Case(
        "cancel pending order",
        "POST",
        "/orders/{order_id}/cancel",
        Target.PENDING_ORDER,
        BUYER_OR_ADMINS_CANCEL,
    ),
    Case(
        "cancel paid order",
        "POST",
        "/orders/{order_id}/cancel",
        Target.PAID_ORDER,
        BUYER_OR_ADMINS_CANCEL,
    ),
    # an event's orders
    Case(
        "list orders of draft event",
        "GET",
        "/events/{event_id}/orders",
        Target.DRAFT_EVENT,
        ADMINS_SEE,
    ),
    Case(
        "list orders of published event",
        "GET",
        "/events/{event_id}/orders",
        Target.PENDING_ORDER,
        ADMINS_SEE_PUBLIC,
    ),
    # promo codes
    Case(
        "create promo code for draft event",
        "POST",
        "/events/{event_id}/promo-codes",
        Target.DRAFT_EVENT,
        ADMINS_CREATE,
        _fixed({"code": "MATRIX10", "percent_off": 10}),
    ),
    Case(
        "create promo code for published event",
        "POST",
        "/events/{event_id}/promo-codes",
        Target.PUBLISHED_EVENT,
        ADMINS_CREATE_UNDER_PUBLIC,
        _fixed({"code": "MATRIX10", "percent_off": 10}),
    ),
    Case(
        "list promo codes of draft event",
        "GET",
        "/events/{event_id}/promo-codes",
        Target.DRAFT_EVENT,
        ADMINS_SEE,
    ),
    Case(
        "list promo codes of published event",
        "GET",
        "/events/{event_id}/promo-codes",
        Target.PUBLISHED_EVENT,
        ADMINS_SEE_PUBLIC,
    ),
    # waiting lists
    Case(
        "join waiting list of sold-out ticket type",
        "POST",
        "/ticket-types/{ticket_type_id}/waitlist",
        Target.SOLD_OUT_TICKET_TYPE,
        ANYONE_SIGNED_IN_JOINS,
        _fixed({}),
    ),
    Case(
        "join waiting list of draft ticket type",
        "POST",
        "/ticket-types/{ticket_type_id}/waitlist",
        Target.DRAFT_TICKET_TYPE,
        NOT_ON_SALE,
        _fixed({}),
    ),
    Case(
        "leave waiting list",
        "DELETE",
        "/ticket-types/{ticket_type_id}/waitlist",
        Target.WAITED_FOR_TICKET_TYPE,
        ANYONE_SIGNED_IN_LEAVES,
    ),
    Case(
        "leave waiting list of draft ticket type",
        "DELETE",
        "/ticket-types/{ticket_type_id}/waitlist",
        Target.DRAFT_TICKET_TYPE,
        NOT_ON_SALE,
    ),
    # one ticket
    Case("get ticket", "GET", "/tickets/{ticket_id}", Target.PAID_ORDER, HOLDER_OR_STAFF_SEE),
    Case(
        "get ticket QR code",
        "GET",
        "/tickets/{ticket_id}/qr.svg",
        Target.PAID_ORDER,
        HOLDER_OR_STAFF_SEE,
    ),
    Case(
        "get printable ticket",
        "GET",
        "/tickets/{ticket_id}.pdf",
        Target.PAID_ORDER,
        HOLDER_OR_STAFF_SEE,
    ),
    # the door
    Case(
        "check a ticket in",
        "POST",
        "/events/{event_id}/check-ins",
        Target.PAID_ORDER,
        STAFF_CHECK_IN_PUBLIC,
        _check_in,
    ),
    Case(
        "upload offline scans",
        "POST",
        "/events/{event_id}/check-ins/batch",
        Target.PAID_ORDER,
        STAFF_SEE_PUBLIC,
        _scans,
    ),
    Case(
        "check-in list of published event",
        "GET",
        "/events/{event_id}/check-in-list",
        Target.PAID_ORDER,
        STAFF_SEE_PUBLIC,
    ),
    Case(
        "check-in list of draft event",
        "GET",
        "/events/{event_id}/check-in-list",
        Target.DRAFT_EVENT,
        MEMBERS_SEE,
    ),
    # organizer reports
    Case(
        "list attendees of published event",
        "GET",
        "/events/{event_id}/attendees",
        Target.PAID_ORDER,
        ADMINS_SEE_PUBLIC,
    ),
    Case(
        "list attendees of draft event",
        "GET",
        "/events/{event_id}/attendees",
        Target.DRAFT_EVENT,
        ADMINS_SEE,
    ),
    Case(
        "export attendees as CSV",
        "GET",
        "/events/{event_id}/attendees.csv",
        Target.PAID_ORDER,
        ADMINS_SEE_PUBLIC,
    ),
    Case(
        "sales of published event",
        "GET",
        "/events/{event_id}/sales",
        Target.PAID_ORDER,
        ADMINS_SEE_PUBLIC,
    ),
    Case("sales of draft event", "GET", "/events/{event_id}/sales", Target.DRAFT_EVENT, ADMINS_SEE),
    Case(
        "daily sales of published event",
        "GET",
        "/events/{event_id}/sales/daily",
        Target.PAID_ORDER,
        ADMINS_SEE_PUBLIC,
    ),
    Case(
        "daily sales of draft event",
        "GET",
        "/events/{event_id}/sales/daily",
        Target.DRAFT_EVENT,
        ADMINS_SEE,
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
        ("POST", f"{API}/auth/password-reset"),
        ("POST", f"{API}/auth/password-reset/confirm"),
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
        # the caller's own orders, tickets and places on waiting lists
        ("GET", f"{API}/me/orders"),
        ("GET", f"{API}/me/tickets"),
        ("GET", f"{API}/me/waitlist"),
        # anyone may call; only a body signed with the webhook secret has an effect
        ("POST", f"{API}/payments/stripe/webhook"),
    }
)
# Operator routes: platform administrators only (401 without a token, 403 for everyone else,
# whatever their roles in organizations). Checked by TestPlatformAdminRoutes.
PLATFORM_ADMIN_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", f"{API}/admin/jobs/dead"),
        ("DELETE", f"{API}/admin/jobs/dead"),
        ("GET", f"{API}/admin/jobs/dead/{{job_id}}"),
        ("DELETE", f"{API}/admin/jobs/dead/{{job_id}}"),
        ("POST", f"{API}/admin/jobs/dead/{{job_id}}/requeue"),
    }
)
# The self-service reads above that need a signed-in caller (401 without a token).
SELF_SERVICE_READS: tuple[str, ...] = (
    f"{API}/me",
    f"{API}/me/orders",
    f"{API}/me/tickets",
    f"{API}/me/waitlist",
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
        buyer = await register(client, name="Bea Buyer")
        await create_organization(client, outsider, name="Someone else's")
        home_org_id = await organization_with_team(client, owner, admin, staff)
    return Crew(owner, admin, staff, outsider, candidate, home_org_id, buyer)


async def call(
    client: httpx.AsyncClient, case: Case, stage: Stage, crew: Crew, headers: dict[str, str]
) -> httpx.Response:
    body = case.body(crew, stage) if case.body else None
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

    async def test_admin_cannot_pay_and_order_stays_pending(
        self, client: httpx.AsyncClient, crew: Crew
    ) -> None:
        stage = await build_stage(client, crew, Target.PENDING_ORDER)
        response = await client.post(
            stage.path("/orders/{order_id}/pay"), json=PAY_BODY, headers=crew.admin.headers
        )
        assert_problem(response, 403)
        order = await client.get(stage.path("/orders/{order_id}"), headers=crew.buyer.headers)
        assert order.json()["status"] == "pending"
        assert order.json()["payment"]["status"] != "captured"

    async def test_outsider_cannot_cancel_and_ticket_stays_valid(
        self, client: httpx.AsyncClient, crew: Crew
    ) -> None:
        stage = await build_stage(client, crew, Target.PAID_ORDER)
        for persona in (Persona.OUTSIDER, Persona.STAFF):
            response = await client.post(
                stage.path("/orders/{order_id}/cancel"), headers=crew.headers(persona)
            )
            assert_problem(response, 404)
        order = await client.get(stage.path("/orders/{order_id}"), headers=crew.buyer.headers)
        assert order.json()["status"] == "confirmed"
        assert [ticket["status"] for ticket in order.json()["tickets"]] == ["valid"]

    async def test_staff_cannot_create_promo_code(
        self, client: httpx.AsyncClient, crew: Crew
    ) -> None:
        stage = await build_stage(client, crew, Target.PUBLISHED_EVENT)
        response = await client.post(
            stage.path("/events/{event_id}/promo-codes"),
            json={"code": "STAFF50", "percent_off": 50},
            headers=crew.staff.headers,
        )
        assert_problem(response, 403)
        codes = await client.get(
            stage.path("/events/{event_id}/promo-codes"), headers=crew.admin.headers
        )
        assert codes.json()["data"] == []


class TestOwnOrdersOfMembers:
    """A member who buys a ticket for themselves is a buyer like any other: only admins act as
    the organizer on an order (API.md: cancel is "the buyer before the event starts, or an
    organization admin")."""

    async def test_staff_cannot_cancel_their_own_order_once_the_event_started(
        self, client: httpx.AsyncClient, crew: Crew
    ) -> None:
        org_id = await organization_with_team(client, crew.owner, crew.admin, crew.staff)
        started = datetime.now(UTC) - timedelta(hours=1)
        event = await create_event(client, org_id, crew.owner, starts=started)
        ticket_type = await add_ticket_type(client, event["id"], crew.owner)
        await publish(client, event["id"], crew.owner)
        stage = Stage(org_id, event_id=event["id"], ticket_type_id=ticket_type["id"])
        customers = await place_order(client, stage, crew.buyer, paid=True)
        staffs = await place_order(client, stage, crew.staff, paid=True)

        for who, own in ((crew.buyer, customers), (crew.staff, staffs)):
            response = await client.post(own.path("/orders/{order_id}/cancel"), headers=who.headers)
            problem = assert_problem(response, 409)
            assert problem["type"].endswith("/order-not-cancellable")
        # the organizer still can
        response = await client.post(
            staffs.path("/orders/{order_id}/cancel"), headers=crew.admin.headers
        )
        assert response.status_code == 200, response.text


class TestSelfServiceAndPublicRoutes:
    """The routes outside the matrix still follow the auth rules."""

    @pytest.mark.parametrize("path", SELF_SERVICE_READS)
    async def test_self_service_read_needs_a_token(
        self, client: httpx.AsyncClient, crew: Crew, path: str
    ) -> None:
        assert_problem(await client.get(path), 401)
        forged = {"Authorization": f"Bearer {forged_token(crew.buyer)}"}
        assert_problem(await client.get(path, headers=forged), 401)
        response = await client.get(path, headers=crew.buyer.headers)
        assert response.status_code == 200, response.text

    async def test_my_waitlist_shows_only_my_places(
        self, client: httpx.AsyncClient, crew: Crew
    ) -> None:
        stage = await build_stage(client, crew, Target.WAITED_FOR_TICKET_TYPE)
        for persona in (Persona.OUTSIDER, Persona.BUYER):
            places = (await client.get(f"{API}/me/waitlist", headers=crew.headers(persona))).json()
            mine = [p for p in places["data"] if p["ticket_type_id"] == stage.ticket_type_id]
            assert len(mine) == 1, places
        # the candidate bought the only seat and is on no list
        places = (await client.get(f"{API}/me/waitlist", headers=crew.candidate.headers)).json()
        assert stage.ticket_type_id not in {p["ticket_type_id"] for p in places["data"]}

    async def test_my_orders_and_tickets_show_only_mine(
        self, client: httpx.AsyncClient, crew: Crew
    ) -> None:
        stage = await build_stage(client, crew, Target.PAID_ORDER)
        orders = await client.get(f"{API}/me/orders", headers=crew.buyer.headers)
        tickets = await client.get(f"{API}/me/tickets", headers=crew.buyer.headers)
        assert stage.order_id in {order["id"] for order in orders.json()["data"]}
        assert stage.ticket_id in {ticket["id"] for ticket in tickets.json()["data"]}
        for persona in (Persona.OUTSIDER, Persona.ADMIN, Persona.OWNER):
            headers = crew.headers(persona)
            orders = await client.get(f"{API}/me/orders", headers=headers)
            tickets = await client.get(f"{API}/me/tickets", headers=headers)
            assert stage.order_id not in {order["id"] for order in orders.json()["data"]}
            assert stage.ticket_id not in {ticket["id"] for ticket in tickets.json()["data"]}

    async def test_unsigned_stripe_webhook_needs_no_token_and_does_nothing(
        self, client: httpx.AsyncClient, crew: Crew
    ) -> None:
        stage = await build_stage(client, crew, Target.PENDING_ORDER)
        forged_event = {
            "id": "evt_forged",
            "type": "payment_intent.succeeded",
            "data": {"object": {"metadata": {"order_id": stage.order_id}}},
        }
        response = await client.post(f"{API}/payments/stripe/webhook", json=forged_event)
        # 400 (bad signature) where Stripe is configured, 404 where it is not; never 401
        assert response.status_code in {400, 404}, response.text
        assert_problem(response, response.status_code)
        order = await client.get(stage.path("/orders/{order_id}"), headers=crew.buyer.headers)
        assert order.json()["status"] == "pending"


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
            if route.key not in MATRIX_ROUTES | PUBLIC_OR_SELF_SERVICE | PLATFORM_ADMIN_ROUTES
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
        gone = sorted(f"{method} {path}" for method, path in PLATFORM_ADMIN_ROUTES - served)
        assert not gone, f"PLATFORM_ADMIN_ROUTES names routes the app does not serve: {gone}"

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


class TestPlatformAdminRoutes:
    """Organization roles give no operator powers: an organization's owner gets 403 like any
    buyer; only a platform administrator gets through."""

    @pytest.mark.parametrize("route", sorted(PLATFORM_ADMIN_ROUTES), ids=" ".join)
    async def test_only_platform_admins_pass(
        self, app: FastAPI, settings: Any, crew: Crew, route: tuple[str, str]
    ) -> None:
        from boxoffice.seeding.admin import create_admin  # noqa: PLC0415

        method, template = route
        path = template.replace("{job_id}", "00000000-0000-4000-8000-000000000000")
        async with api_client(app) as client:
            assert_problem(await client.request(method, path), 401)
            for account in (crew.owner, crew.admin, crew.staff, crew.outsider, crew.buyer):
                assert_problem(await client.request(method, path, headers=account.headers), 403)
            operator = await register(client, name="Platform operator")
            await create_admin(settings, email=operator.email, name="Operator", password="")
            response = await client.request(method, path, headers=operator.headers)
            assert response.status_code not in (401, 403), response.text


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
        lambda crew, _stage: {"email": crew.candidate.email, "role": "staff"},
    ),
    ("PATCH", "/organizations/{org_id}/members/{bad}", _fixed({"role": "admin"})),
    ("DELETE", "/organizations/{org_id}/members/{bad}", None),
    ("GET", "/organizations/{bad}/events", None),
    ("POST", "/organizations/{bad}/events", lambda _crew, _stage: event_payload()),
    ("GET", "/events/{bad}", None),
    ("PATCH", "/events/{bad}", _fixed({"title": "A new title"})),
    ("POST", "/events/{bad}/publish", None),
    ("POST", "/events/{bad}/cancel", None),
    ("GET", "/events/{bad}/ticket-types", None),
    ("POST", "/events/{bad}/ticket-types", lambda _crew, _stage: ticket_type_payload()),
    ("PATCH", "/ticket-types/{bad}", _fixed({"name": "Early bird"})),
    ("POST", "/events/{bad}/orders", _fixed({"items": []})),
    ("GET", "/events/{bad}/orders", None),
    ("GET", "/orders/{bad}", None),
    ("POST", "/orders/{bad}/pay", _fixed(PAY_BODY)),
    ("POST", "/orders/{bad}/cancel", None),
    ("POST", "/events/{bad}/promo-codes", _fixed({"code": "MATRIX10", "percent_off": 10})),
    ("GET", "/events/{bad}/promo-codes", None),
    ("POST", "/ticket-types/{bad}/waitlist", _fixed({})),
    ("DELETE", "/ticket-types/{bad}/waitlist", None),
    ("GET", "/tickets/{bad}", None),
    ("GET", "/tickets/{bad}/qr.svg", None),
    ("GET", "/tickets/{bad}.pdf", None),
    ("POST", "/events/{bad}/check-ins", _fixed({"code": "not-a-ticket"})),
    (
        "POST",
        "/events/{bad}/check-ins/batch",
        _fixed({"scans": [{"code": "not-a-ticket", "scanned_at": "2027-03-01T19:30:00+00:00"}]}),
    ),
    ("GET", "/events/{bad}/check-in-list", None),
    ("GET", "/events/{bad}/attendees", None),
    ("GET", "/events/{bad}/attendees.csv", None),
    ("GET", "/events/{bad}/sales", None),
    ("GET", "/events/{bad}/sales/daily", None),
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
        stage = Stage(crew.home_org_id)
        response = await client.request(
            method, path, json=body(crew, stage) if body else None, headers=crew.owner.headers
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
