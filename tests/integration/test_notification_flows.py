"""Every notification flow end to end: a change through the API writes its outbox rows, the
jobs run inline (``run_due``, including the jobs those jobs write) and a real SMTP server on
loopback receives the e-mail. Each e-mail is recorded in ``email_deliveries`` and goes out
once, however often its job runs."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from boxoffice.app import create_app
from boxoffice.config import Settings
from boxoffice.db.engine import Database
from boxoffice.jobs import outbox
from boxoffice.jobs.context import JobContext
from boxoffice.jobs.inline import run_due
from boxoffice.jobs.models import OutboxMessage
from boxoffice.notifications.compose import message_id_for
from boxoffice.notifications.models import EmailDelivery
from boxoffice.seeding.holders import add_holders
from boxoffice.ticketing.models import WaitlistEntry
from tests.conftest import Backend, make_settings
from tests.helpers import (
    API,
    PASSWORD,
    Account,
    Tenant,
    add_ticket_type,
    cancel,
    create_event,
    patch_event,
    publish,
    register,
    tenant,
)
from tests.support.smtp_inbox import Received, SmtpInbox

GOOD_CARD = "4242424242424242"
SENDER = "tickets@boxoffice.localhost"
PUBLIC_URL = "http://127.0.0.1:8000"


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app, with jobs run only by the test (``run_due``): an embedded broker without the
    in-process worker starts no relay."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        assert not app.state.resources.jobs.tasks
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client


@dataclass
class Flow:
    """The app, its HTTP client, the inbox its mail goes to, and a way to run its jobs."""

    app: FastAPI
    client: httpx.AsyncClient
    inbox: SmtpInbox
    database: Database
    jobs: JobContext

    async def run_jobs(self) -> int:
        """Every due job, inline; how many ran."""
        return await run_due(self.jobs)


@pytest.fixture
def inbox() -> Iterator[SmtpInbox]:
    with SmtpInbox() as server:
        yield server


@pytest.fixture
async def flow(isolated_backend: Backend, tmp_path: Path, inbox: SmtpInbox) -> AsyncIterator[Flow]:
    settings = make_settings(
        isolated_backend, tmp_path, smtp_host=inbox.host, smtp_port=inbox.port, smtp_tls="none"
    )
    async with running(settings) as (app, client):
        resources = app.state.resources
        flow = Flow(
            app,
            client,
            inbox,
            resources.database,
            JobContext(resources.settings, resources.database, resources.cache),
        )
        await flow.run_jobs()  # whatever earlier tests of the module left due
        yield flow


# --- the scenario's side --------------------------------------------------------------------


async def on_sale(
    client: httpx.AsyncClient, crew: Tenant, *types: dict[str, Any], **event: Any
) -> tuple[str, list[str]]:
    """A published event with these ticket types (one default type if none): its id and the
    types' ids."""
    created = await create_event(client, crew.org_id, crew.admin, **event)
    ids = [
        (await add_ticket_type(client, created["id"], crew.admin, **ticket))["id"]
        for ticket in types or ({},)
    ]
    await publish(client, created["id"], crew.admin)
    return created["id"], ids


async def bought(
    client: httpx.AsyncClient, buyer: Account, event_id: str, tt: str, n: int = 1
) -> dict[str, Any]:
    """A confirmed order of ``n`` seats: paid with the test card unless free."""
    response = await client.post(
        f"{API}/events/{event_id}/orders",
        json={"items": [{"ticket_type_id": tt, "quantity": n}]},
        headers=buyer.headers,
    )
    assert response.status_code == 201, response.text
    if response.json()["status"] == "pending":
        response = await client.post(
            f"{API}/orders/{response.json()['id']}/pay",
            json={"payment_method": {"type": "test_card", "number": GOOD_CARD}},
            headers=buyer.headers,
        )
        assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "confirmed", body
    return body


async def cancel_order(client: httpx.AsyncClient, by: Account, order_id: str) -> dict[str, Any]:
    response = await client.post(f"{API}/orders/{order_id}/cancel", headers=by.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def enqueue(database: Database, job: str, payload: dict[str, Any]) -> None:
    """Write an outbox row by hand (as a redelivery or a second run would)."""
    async with database.write_sessions() as session, session.begin():
        await outbox.enqueue(session, job, payload)


# --- what arrived -----------------------------------------------------------------------------


def of_kind(inbox: SmtpInbox, kind: str, key_prefix: str = "") -> list[Received]:
    return [
        received
        for received in inbox.messages
        if received.message["X-Boxoffice-Kind"] == kind and key_of(received).startswith(key_prefix)
    ]


def key_of(received: Received) -> str:
    """The delivery key. A long one is folded onto its own line, and the stdlib parser keeps
    the folding white space (``Received.key`` does too): strip it."""
    return (received.key or "").strip()


def recipient(received: Received) -> str:
    [address] = received.rcpt_tos
    return address


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def html_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("html",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def parts(message: EmailMessage, content_type: str) -> list[EmailMessage]:
    return [part for part in message.walk() if part.get_content_type() == content_type]


def calendar_of(message: EmailMessage) -> str:
    [part] = parts(message, "text/calendar")
    assert part.get_filename() == "event.ics"
    return str(part.get_content())


def assert_headers(received: Received, *, kind: str, key: str, to: str, name: str) -> None:
    message = received.message
    assert received.mail_from == SENDER
    assert received.rcpt_tos == (to,)
    assert message["X-Boxoffice-Kind"] == kind
    assert key_of(received) == key
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["From"].addresses[0].addr_spec == SENDER
    [address] = message["To"].addresses
    assert (address.display_name, address.addr_spec) == (name, to)
    # Stable per delivery (docs/notifications.md): a retry's duplicate is recognisable.
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    assert message["Message-ID"] == f"<{digest}@boxoffice.localhost>"
    assert message["Date"] is not None


async def deliveries(database: Database, key_prefix: str) -> list[EmailDelivery]:
    async with database.write_sessions() as session:
        rows = await session.scalars(
            select(EmailDelivery)
            .where(EmailDelivery.key.startswith(key_prefix, autoescape=True))
            .order_by(EmailDelivery.key)
        )
        return list(rows)


async def outbox_rows(database: Database, job: str, event_id: str) -> list[OutboxMessage]:
    async with database.write_sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.job == job,
                OutboxMessage.payload["event_id"].as_string() == event_id,
            )
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
        )
        return list(rows)


# --- orders ---------------------------------------------------------------------------------


class TestOrderConfirmation:
    async def test_one_confirmation_with_tickets_calendar_and_qr_codes_sent_once(
        self, flow: Flow
    ) -> None:
        crew = await tenant(flow.client)
        event_id, [tt] = await on_sale(flow.client, crew, title="Confirmed Jazz")
        buyer = await register(flow.client, name="Ada Lovelace")
        order = await bought(flow.client, buyer, event_id, tt, 2)
        key = f"order-confirmed:{order['id']}"

        assert await flow.run_jobs() >= 2
        [received] = of_kind(flow.inbox, "order_confirmation")
        assert_headers(
            received, kind="order_confirmation", key=key, to=buyer.email, name="Ada Lovelace"
        )
        message = received.message
        assert message["Subject"] == "Your tickets for Confirmed Jazz"
        assert message.get_content_type() == "multipart/mixed"
        text = text_of(message)
        assert "Your 2 tickets are attached as PDFs" in text
        assert "Total: EUR 50.00" in text
        tickets = {ticket["id"]: ticket["code"] for ticket in order["tickets"]}
        assert len(tickets) == 2
        assert all(code in text for code in tickets.values())
        # One PDF per ticket, named after it.
        pdfs = parts(message, "application/pdf")
        assert sorted(part.get_filename() or "" for part in pdfs) == sorted(
            f"ticket-{ticket_id}.pdf" for ticket_id in tickets
        )
        assert all(part.get_content().startswith(b"%PDF") for part in pdfs)
        # One inline QR PNG per ticket, shown by the HTML body.
        pngs = parts(message, "image/png")
        assert sorted(part["Content-ID"] for part in pngs) == sorted(
            f"<qr-{ticket_id}@boxoffice.localhost>" for ticket_id in tickets
        )
        assert all(part.get_content_disposition() == "inline" for part in pngs)
        assert all(part.get_content().startswith(b"\x89PNG") for part in pngs)
        html = html_of(message)
        assert all(f"cid:qr-{ticket_id}@boxoffice.localhost" in html for ticket_id in tickets)
        calendar = calendar_of(message)
        assert "METHOD:PUBLISH" in calendar and f"event-{event_id}@" in calendar

        [delivery] = await deliveries(flow.database, key)
        assert (delivery.status, delivery.kind, delivery.recipient) == (
            "sent",
            "order_confirmation",
            buyer.email,
        )
        assert delivery.attempts == 1 and delivery.sent_at is not None
        assert delivery.message_id == message["Message-ID"]
        assert delivery.message_id == message_id_for(key, flow.jobs.settings)

        # Nothing left to run; then the same job delivered again (a lost acknowledgement):
        # the consumer finds the delivery recorded and sends nothing.
        assert await flow.run_jobs() == 0
        await enqueue(flow.database, "mail.order_confirmation", {"order_id": order["id"]})
        assert await flow.run_jobs() == 1
        assert len(of_kind(flow.inbox, "order_confirmation")) == 1
        [again] = await deliveries(flow.database, key)
        assert (again.status, again.attempts) == ("sent", 1)


class TestOrganizerNotices:
    async def test_first_sale_and_sold_out_go_to_owners_and_admins_once(self, flow: Flow) -> None:
        crew = await tenant(flow.client)
        event_id, [tt] = await on_sale(
            flow.client, crew, {"name": "Standing", "quantity": 2}, title="Busy Night"
        )
        organizers = {crew.owner.email, crew.admin.email}

        first = await bought(flow.client, await register(flow.client), event_id, tt)
        await flow.run_jobs()
        first_sale = of_kind(flow.inbox, "organizer_first_sale")
        assert {recipient(r) for r in first_sale} == organizers  # not staff, not the outsider
        assert len(first_sale) == 2
        for received in first_sale:
            assert received.message["Subject"] == "First sale for Busy Night"
            assert key_of(received) == f"first-sale:{event_id}:{recipient(received)}"
            text = text_of(received.message)
            assert "Busy Night has its first sale:" in text and "EUR 25.00" in text
        assert of_kind(flow.inbox, "organizer_sold_out") == []

        # The last seat: the ticket type and the whole event are sold out.
        last_buyer = await register(flow.client)
        last = await bought(flow.client, last_buyer, event_id, tt)
        await flow.run_jobs()
        assert len(of_kind(flow.inbox, "organizer_first_sale")) == 2, "a second first sale"
        sold_out = of_kind(flow.inbox, "organizer_sold_out")
        assert sorted((recipient(r), r.message["Subject"]) for r in sold_out) == sorted(
            (email, subject)
            for email in organizers
            for subject in ("Sold out: Standing for Busy Night", "Sold out: Busy Night")
        )
        assert {key_of(r) for r in sold_out} == {
            f"sold-out:{event_id}:{what}:{email}"
            for what in ("Standing", "event")
            for email in organizers
        }

        # A seat comes back and sells out again: the organizers heard it once already.
        await cancel_order(flow.client, last_buyer, last["id"])
        await bought(flow.client, await register(flow.client), event_id, tt)
        await flow.run_jobs()
        assert len(of_kind(flow.inbox, "organizer_sold_out")) == 4
        assert len(of_kind(flow.inbox, "organizer_first_sale")) == 2
        rows = await deliveries(flow.database, f"sold-out:{event_id}:")
        assert [(row.status, row.attempts) for row in rows] == [("sent", 1)] * 4
        assert first["id"] != last["id"]

    async def test_a_first_sale_of_one_ticket_says_one_ticket(self, flow: Flow) -> None:
        crew = await tenant(flow.client)
        event_id, [tt] = await on_sale(flow.client, crew, title="Small Room")
        await bought(flow.client, await register(flow.client), event_id, tt)
        await flow.run_jobs()
        first_sale = of_kind(flow.inbox, "organizer_first_sale")
        assert len(first_sale) == 2
        for received in first_sale:
            assert "Small Room has its first sale: one ticket, EUR 25.00." in text_of(
                received.message
            )


class TestOrderCancelled:
    async def test_the_buyer_hears_of_the_refund(self, flow: Flow) -> None:
        crew = await tenant(flow.client)
        event_id, [tt] = await on_sale(
            flow.client, crew, {"price_amount": 3250}, title="Changed My Mind"
        )
        buyer = await register(flow.client, name="Grace Hopper")
        order = await bought(flow.client, buyer, event_id, tt, 2)
        await flow.run_jobs()
        cancelled = await cancel_order(flow.client, buyer, order["id"])
        assert cancelled["payment"]["status"] == "refunded"

        await flow.run_jobs()
        key = f"order-cancelled:{order['id']}"
        [received] = of_kind(flow.inbox, "order_cancelled")
        assert_headers(
            received, kind="order_cancelled", key=key, to=buyer.email, name="Grace Hopper"
        )
        assert received.message["Subject"] == "Your order for Changed My Mind is cancelled"
        text = text_of(received.message)
        assert f"your order {order['id']} has been cancelled" in text
        assert "We are refunding EUR 65.00 to the payment method you used." in text
        assert "EUR 65.00" in html_of(received.message)
        [delivery] = await deliveries(flow.database, key)
        assert (delivery.status, delivery.recipient) == ("sent", buyer.email)
        assert await flow.run_jobs() == 0
        assert len(of_kind(flow.inbox, "order_cancelled")) == 1


# --- event-wide notices -----------------------------------------------------------------------


class TestEventCancelled:
    async def test_each_holder_gets_one_notice_and_no_order_cancelled(self, flow: Flow) -> None:
        crew = await tenant(flow.client)
        event_id, [paid, free] = await on_sale(
            flow.client,
            crew,
            {"name": "Seated", "price_amount": 4000},
            {"name": "Guest list", "price_amount": 0},
            title="Called Off",
        )
        ada = await register(flow.client, name="Ada")
        bob = await register(flow.client, name="Bob")
        cyd = await register(flow.client, name="Cyd")
        orders = [
            await bought(flow.client, ada, event_id, paid, 2),
            await bought(flow.client, bob, event_id, paid),
            await bought(flow.client, cyd, event_id, free),
        ]
        await flow.run_jobs()
        before = len(flow.inbox.messages)

        await cancel(flow.client, event_id, crew.admin)
        await flow.run_jobs()
        new = flow.inbox.messages[before:]
        assert [r.message["X-Boxoffice-Kind"] for r in new] == ["event_cancelled"] * 3
        by_recipient = {recipient(r): r for r in new}
        assert set(by_recipient) == {ada.email, bob.email, cyd.email}
        for account, name, refund in ((ada, "Ada", True), (bob, "Bob", True), (cyd, "Cyd", False)):
            received = by_recipient[account.email]
            assert_headers(
                received,
                kind="event_cancelled",
                key=f"event-cancelled:{event_id}:{account.user_id}",
                to=account.email,
                name=name,
            )
            message = received.message
            assert message["Subject"] == "Cancelled: Called Off"
            text = text_of(message)
            assert ("Your refund is on its way" in text) is refund
            assert ("You were not charged, so there is nothing to refund." in text) is not refund
            calendar = calendar_of(message)
            assert "METHOD:CANCEL" in calendar and "STATUS:CANCELLED" in calendar
            [part] = parts(message, "text/calendar")
            assert part.get_param("method") == "CANCEL"
        assert "Your 2 tickets have been cancelled" in text_of(by_recipient[ada.email].message)
        assert of_kind(flow.inbox, "order_cancelled") == []

        rows = await deliveries(flow.database, f"event-cancelled:{event_id}:")
        assert sorted(row.recipient for row in rows) == sorted(by_recipient)
        assert {row.status for row in rows} == {"sent"}
        for order in orders:
            assert await deliveries(flow.database, f"order-cancelled:{order['id']}") == []


class TestEventChanged:
    async def test_a_time_change_tells_each_holder_once_per_version(self, flow: Flow) -> None:
        crew = await tenant(flow.client)
        starts = datetime(2030, 6, 14, 18, 0, tzinfo=UTC)
        event_id, [tt] = await on_sale(flow.client, crew, title="Moved Gig", starts=starts)
        ada = await register(flow.client, name="Ada")
        bob = await register(flow.client, name="Bob")
        await bought(flow.client, ada, event_id, tt, 2)
        await bought(flow.client, bob, event_id, tt)
        await flow.run_jobs()
        holders = {ada.email, bob.email}

        async def reschedule(starts_at: datetime) -> None:
            await patch_event(
                flow.client,
                event_id,
                crew.admin,
                starts_at=starts_at.isoformat(),
                ends_at=(starts_at + timedelta(hours=3)).isoformat(),
            )

        await reschedule(datetime(2030, 6, 15, 17, 30, tzinfo=UTC))
        await flow.run_jobs()
        first = of_kind(flow.inbox, "event_changed")
        assert {recipient(r) for r in first} == holders and len(first) == 2
        for received in first:
            assert received.message["Subject"] == "Changed: Moved Gig"
            assert key_of(received).startswith(f"event-changed:{event_id}:v")
            text = text_of(received.message)
            assert (
                "Starts:\n"
                "  before: Fri 14 Jun 2030, 20:00 (Europe/Berlin)\n"
                "  now:    Sat 15 Jun 2030, 19:30 (Europe/Berlin)"
            ) in text
            assert (
                "Ends:\n"
                "  before: Fri 14 Jun 2030, 23:00 (Europe/Berlin)\n"
                "  now:    Sat 15 Jun 2030, 22:30 (Europe/Berlin)"
            ) in text
            assert "SEQUENCE:" in calendar_of(received.message)

        # Only the title: nothing attendees are told about.
        await patch_event(flow.client, event_id, crew.admin, title="Moved Gig (renamed)")
        await flow.run_jobs()
        assert len(of_kind(flow.inbox, "event_changed")) == 2

        # A second time change is a second notice (the key names the event's version).
        await reschedule(datetime(2030, 6, 22, 17, 30, tzinfo=UTC))
        await flow.run_jobs()
        changed = of_kind(flow.inbox, "event_changed")
        second = changed[2:]
        assert {recipient(r) for r in second} == holders and len(second) == 2
        assert {key_of(r) for r in first}.isdisjoint({key_of(r) for r in second})
        for received in second:
            text = text_of(received.message)
            assert "before: Sat 15 Jun 2030, 19:30 (Europe/Berlin)" in text
            assert "now:    Sat 22 Jun 2030, 19:30 (Europe/Berlin)" in text
        sequences = {
            re.search(r"SEQUENCE:(\d+)", calendar_of(r.message)).group(1)  # type: ignore[union-attr]
            for r in changed
        }
        assert len(sequences) == 2, "the second calendar file does not replace the first"
        rows = await deliveries(flow.database, f"event-changed:{event_id}:")
        assert len(rows) == 4 and {row.status for row in rows} == {"sent"}


class TestEventReminders:
    async def test_holders_of_events_starting_within_a_day_are_reminded_once(
        self, flow: Flow
    ) -> None:
        crew = await tenant(flow.client)
        soon = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=20)
        later = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=30)
        soon_id, [soon_tt] = await on_sale(flow.client, crew, title="Tomorrow", starts=soon)
        later_id, [later_tt] = await on_sale(flow.client, crew, title="Day After", starts=later)
        ada = await register(flow.client, name="Ada")
        bob = await register(flow.client, name="Bob")
        await bought(flow.client, ada, soon_id, soon_tt, 2)
        await bought(flow.client, bob, soon_id, soon_tt)
        await bought(flow.client, ada, later_id, later_tt)
        await flow.run_jobs()

        async def remind() -> None:
            await enqueue(flow.database, "notifications.event_reminders", {})
            await flow.run_jobs()

        await remind()
        reminders = of_kind(flow.inbox, "event_reminder")
        assert sorted(recipient(r) for r in reminders) == sorted([ada.email, bob.email])
        for received in reminders:
            assert key_of(received).startswith(f"reminder:{soon_id}:")
            assert received.message["Subject"].startswith("Reminder: Tomorrow, ")
            assert "METHOD:PUBLISH" in calendar_of(received.message)
        [to_ada] = [r for r in reminders if recipient(r) == ada.email]
        assert "You have 2 tickets." in text_of(to_ada.message)
        assert of_kind(flow.inbox, "event_reminder", f"reminder:{later_id}:") == []

        await remind()
        assert len(of_kind(flow.inbox, "event_reminder")) == 2
        assert await deliveries(flow.database, f"reminder:{later_id}:") == []
        assert len(await deliveries(flow.database, f"reminder:{soon_id}:")) == 2


# --- the waiting list and accounts ------------------------------------------------------------


class TestWaitlistOffer:
    async def test_the_first_in_line_gets_the_offer_with_the_pay_link(self, flow: Flow) -> None:
        crew = await tenant(flow.client)
        event_id, [tt] = await on_sale(
            flow.client, crew, {"quantity": 1, "price_amount": 3000}, title="Full House"
        )
        holder = await register(flow.client, name="Holder")
        order = await bought(flow.client, holder, event_id, tt)
        fan = await register(flow.client, name="First Fan")
        joined = await flow.client.post(
            f"{API}/ticket-types/{tt}/waitlist", json={}, headers=fan.headers
        )
        assert joined.status_code == 201, joined.text
        await flow.run_jobs()

        await cancel_order(flow.client, holder, order["id"])
        await flow.run_jobs()
        places = (await flow.client.get(f"{API}/me/waitlist", headers=fan.headers)).json()
        [place] = places["data"]
        assert place["status"] == "offered"
        offer_order = place["order_id"]

        async with flow.database.write_sessions() as session:
            entry_id = await session.scalar(
                select(WaitlistEntry.id).where(WaitlistEntry.order_id == uuid.UUID(offer_order))
            )
        key = f"waitlist-offer:{entry_id}:{offer_order}"
        [received] = of_kind(flow.inbox, "waitlist_offer")
        assert_headers(received, kind="waitlist_offer", key=key, to=fan.email, name="First Fan")
        assert received.message["Subject"] == "Seats are free for Full House: they are held for you"
        text = text_of(received.message)
        pay_link = f"{PUBLIC_URL}/orders/{offer_order}"
        assert f"Pay now: {pay_link}" in text
        assert pay_link in html_of(received.message)
        assert "a seat (General admission) is now held for you until" in text
        [cancelled] = of_kind(flow.inbox, "order_cancelled")
        assert recipient(cancelled) == holder.email

        # The link's order is the fan's to pay.
        paid = await flow.client.post(
            f"{API}/orders/{offer_order}/pay",
            json={"payment_method": {"type": "test_card", "number": GOOD_CARD}},
            headers=fan.headers,
        )
        assert paid.status_code == 200, paid.text
        [delivery] = await deliveries(flow.database, key)
        assert (delivery.status, delivery.recipient) == ("sent", fan.email)


class TestPasswordReset:
    async def test_the_mailed_link_resets_the_password(self, flow: Flow) -> None:
        account = await register(flow.client, name="Forgetful")
        response = await flow.client.post(
            f"{API}/auth/password-reset", json={"email": account.email}
        )
        assert response.status_code == 202, response.text
        await flow.run_jobs()

        [received] = of_kind(flow.inbox, "password_reset")
        assert received.rcpt_tos == (account.email,)
        assert received.message["Subject"] == "Reset your Boxoffice password"
        assert key_of(received).startswith("password-reset:")
        text = text_of(received.message)
        found = re.search(
            rf"{re.escape(PUBLIC_URL)}/reset-password\?token=([0-9a-f]{{32}}\.[A-Za-z0-9_-]{{43}})",
            text,
        )
        assert found is not None, text
        token = found.group(1)
        assert token in html_of(received.message)

        new_password = "a-brand-new-secret-42"
        confirmed = await flow.client.post(
            f"{API}/auth/password-reset/confirm", json={"token": token, "password": new_password}
        )
        assert confirmed.status_code == 204, confirmed.text
        login = await flow.client.post(
            f"{API}/auth/login", json={"email": account.email, "password": new_password}
        )
        assert login.status_code == 200, login.text
        old = await flow.client.post(
            f"{API}/auth/login", json={"email": account.email, "password": PASSWORD}
        )
        assert old.status_code == 401
        [delivery] = await deliveries(flow.database, key_of(received))
        assert delivery.status == "sent"


# --- large events ---------------------------------------------------------------------------


async def holders_event(flow: Flow, count: int, title: str) -> tuple[Tenant, str]:
    crew = await tenant(flow.client)
    event_id, [tt] = await on_sale(flow.client, crew, {"quantity": 1}, title=title)
    await add_holders(flow.database, ticket_type_id=uuid.UUID(tt), count=count)
    return crew, event_id


class TestLargeEventBatches:
    async def test_450_holders_in_three_batches_over_three_connections(self, flow: Flow) -> None:
        crew, event_id = await holders_event(flow, 450, "Stadium Show")
        connections = flow.inbox.connections

        await cancel(flow.client, event_id, crew.admin)
        await flow.run_jobs()
        received = flow.inbox.messages
        assert len(received) == 450
        assert {r.message["X-Boxoffice-Kind"] for r in received} == {"event_cancelled"}
        recipients = {recipient(r) for r in received}
        assert len(recipients) == 450
        assert all(address.endswith("@holders.example") for address in recipients)
        assert len({key_of(r) for r in received}) == 450
        assert flow.inbox.connections - connections == 3
        assert all("Your refund is on its way" in text_of(r.message) for r in received[:5])

        batches = await outbox_rows(flow.database, "mail.event_notice_batch", event_id)
        assert len(batches) == 3
        assert {row.queue for row in batches} == {"low"}
        assert all(row.completed_at is not None for row in batches)
        rows = await deliveries(flow.database, f"event-cancelled:{event_id}:")
        assert len(rows) == 450 and {row.status for row in rows} == {"sent"}
        assert {row.recipient for row in rows} == recipients

        # The fan-out again (its own dedupe key aside): no batch twice, no mail twice.
        [fan_out] = await outbox_rows(flow.database, "notify.fan_out", event_id)
        await enqueue(flow.database, "notify.fan_out", fan_out.payload)
        assert await flow.run_jobs() == 1
        assert len(flow.inbox.messages) == 450
        assert flow.inbox.connections - connections == 3
        assert len(await outbox_rows(flow.database, "mail.event_notice_batch", event_id)) == 3

    async def test_a_permanent_refusal_fails_one_delivery_for_good(self, flow: Flow) -> None:
        crew, event_id = await holders_event(flow, 6, "Bounced")
        flow.inbox.fail_next(1, 550)

        await cancel(flow.client, event_id, crew.admin)
        await flow.run_jobs()
        assert flow.inbox.refused == 1
        received = {recipient(r) for r in flow.inbox.messages}
        assert len(received) == 5
        rows = await deliveries(flow.database, f"event-cancelled:{event_id}:")
        assert len(rows) == 6
        [failed] = [row for row in rows if row.status == "failed"]
        assert failed.recipient not in received
        assert failed.attempts == 1 and failed.sent_at is None
        assert {row.recipient for row in rows if row.status == "sent"} == received

        # The batch again: the refused address is not tried again, nothing else is resent.
        [batch] = await outbox_rows(flow.database, "mail.event_notice_batch", event_id)
        await enqueue(flow.database, "mail.event_notice_batch", batch.payload)
        assert await flow.run_jobs() == 1
        assert len(flow.inbox.messages) == 5 and flow.inbox.refused == 1
        [again] = [
            row
            for row in await deliveries(flow.database, f"event-cancelled:{event_id}:")
            if row.key == failed.key
        ]
        assert (again.status, again.attempts) == ("failed", 1)
