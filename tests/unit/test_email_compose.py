"""Every kind of e-mail, read back from its bytes as a mail client would."""

from __future__ import annotations

import email
import email.policy
import gettext
import html as html_module
import io
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import segno
import zxingcpp  # a real QR decoder (dev dependency zxing-cpp)
from icalendar import Calendar
from PIL import Image

from boxoffice.config import Settings, load_settings
from boxoffice.notifications import compose
from boxoffice.notifications.facts import (
    EventFacts,
    Holder,
    LineFacts,
    OrderFacts,
    OrganizerRecipient,
    TicketFacts,
    WaitlistOfferFacts,
)
from boxoffice.notifications.render import ENVIRONMENT, event_time, local_moment
from boxoffice.ticketing.rendering import QR_BORDER, QR_ERROR
from boxoffice.ticketing.tickets import new_code

PUBLIC_URL = "https://tickets.example.org"
EVENT_ID = uuid.UUID("6f1c2a9e-3b7d-4c59-9a3e-0d2b8f41c7aa")
ORDER_ID = uuid.UUID("0b8e3c4d-5f6a-4b7c-8d9e-0f1a2b3c4d5e")
MALICIOUS_TITLE = '<script>alert("x")</script> Jazz & Blues'
BUYER_NAME = "Zoë Ñandú-Łukasiewicz"
BUYER_EMAIL = "zoe@example.com"
# 2027-03-05 18:30 UTC is 19:30 in Berlin.
LOCAL_DAY = "Friday, 5 March 2027"
LOCAL_TIME = "19:30"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(
        var_dir=tmp_path_factory.mktemp("var"),
        secret_key="test-secret-key-" + "x" * 32,
        public_url=PUBLIC_URL,
        mail_from="Boxoffice Tickets <tickets@example.org>",
    )


def _event(**overrides: Any) -> EventFacts:
    values: dict[str, Any] = {
        "id": EVENT_ID,
        "title": MALICIOUS_TITLE,
        "description": "An evening of modern jazz.",
        "starts_at": datetime(2027, 3, 5, 18, 30, tzinfo=UTC),
        "ends_at": datetime(2027, 3, 5, 21, 30, tzinfo=UTC),
        "timezone": "Europe/Berlin",
        "venue_name": "Quasimodo",
        "venue_address": "Kantstraße 12a",
        "city": "Berlin",
        "country": "DE",
        "online_url": None,
        "organizer": "Riverside Music",
        "url": f"{PUBLIC_URL}/events/{EVENT_ID}",
        "status": "published",
        "version": 4,
        "updated_at": datetime(2027, 1, 10, 12, 0, tzinfo=UTC),
    }
    values.update(overrides)
    return EventFacts(**values)


def _online_event() -> EventFacts:
    return _event(
        title="Online masterclass",
        venue_name=None,
        venue_address=None,
        city=None,
        country=None,
        online_url="https://meet.example.com/masterclass?id=42&lang=en",
    )


def _order(tickets: int = 2, **overrides: Any) -> OrderFacts:
    issued = tuple(
        TicketFacts(uuid.uuid4(), new_code(), "General admission", BUYER_NAME, 2500, "EUR")
        for _ in range(tickets)
    )
    values: dict[str, Any] = {
        "id": ORDER_ID,
        "buyer_name": BUYER_NAME,
        "buyer_email": BUYER_EMAIL,
        "status": "confirmed",
        "currency": "EUR",
        "subtotal_amount": 2500 * tickets,
        "discount_amount": 0,
        "total_amount": 2500 * tickets,
        "lines": (LineFacts("General admission", tickets, 2500, 0),),
        "tickets": issued,
        "event": _event(),
        "cancel_reason": None,
        "confirmed_at": datetime(2027, 1, 11, 9, 0, tzinfo=UTC),
        "cancelled_at": None,
        "payment_provider": "test",
        "payment_status": "captured",
    }
    values.update(overrides)
    return OrderFacts(**values)


def _holder(tickets: int = 3) -> Holder:
    return Holder(uuid.uuid4(), BUYER_NAME, BUYER_EMAIL, 1, tickets)


def _organizer() -> OrganizerRecipient:
    return OrganizerRecipient(uuid.uuid4(), "Jürgen Ørsted", "owner@example.org")


def _offer() -> WaitlistOfferFacts:
    return WaitlistOfferFacts(
        entry_id=uuid.uuid4(),
        user_name=BUYER_NAME,
        user_email=BUYER_EMAIL,
        event=_event(),
        ticket_type_name="General admission",
        quantity=2,
        order_id=ORDER_ID,
        offer_expires_at=datetime(2027, 2, 1, 13, 5, tzinfo=UTC),  # 14:05 in Berlin
        status="offered",
        pay_url=f"{PUBLIC_URL}/orders/{ORDER_ID}",
    )


# ---------------------------------------------------------------------------------- reading


@dataclass
class Read:
    """A composed message as a mail client sees it."""

    raw: bytes
    message: EmailMessage
    text: str
    html: str

    def part_types(self) -> list[str]:
        return [part.get_content_type() for part in self.message.walk()]

    def attachments(self, content_type: str) -> list[EmailMessage]:
        return [
            part
            for part in self.message.iter_attachments()
            if part.get_content_type() == content_type
        ]

    def calendar(self) -> Calendar:
        [ics] = self.attachments("text/calendar")
        assert ics.get_filename() == "event.ics"
        return Calendar.from_ical(ics.get_content())


def read(message: EmailMessage) -> Read:
    raw = message.as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None and html is not None, "both a text and an HTML body"
    return Read(raw, parsed, text.get_content(), html.get_content())


def _unfolded(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------------------------- every kind


@dataclass(frozen=True)
class Case:
    kind: str
    build: Callable[[Settings, str, str], EmailMessage]  # settings, key, message_id
    name: str
    address: str
    facts: tuple[str, ...]  # shown in both bodies


CASES = [
    Case(
        "order_confirmation",
        lambda s, key, mid: compose.order_confirmation(
            _order(), key=key, message_id=mid, settings=s
        ),
        BUYER_NAME,
        BUYER_EMAIL,
        (LOCAL_DAY, LOCAL_TIME, "Quasimodo, Kantstraße 12a, Berlin", "EUR 50.00"),
    ),
    Case(
        "order_cancelled",
        lambda s, key, mid: compose.order_cancelled(
            _order(status="cancelled"), refunded_amount=5000, key=key, message_id=mid, settings=s
        ),
        BUYER_NAME,
        BUYER_EMAIL,
        (LOCAL_DAY, LOCAL_TIME, "Quasimodo", "EUR 50.00", str(ORDER_ID)),
    ),
    Case(
        "event_changed",
        lambda s, key, mid: compose.event_changed(
            _event(),
            _holder(),
            changes={"venue": ("Old Hall, Berlin", "Quasimodo, Kantstraße 12a, Berlin")},
            key=key,
            message_id=mid,
            settings=s,
        ),
        BUYER_NAME,
        BUYER_EMAIL,
        (LOCAL_DAY, LOCAL_TIME, "Old Hall, Berlin", "Quasimodo, Kantstraße 12a, Berlin"),
    ),
    Case(
        "event_cancelled",
        lambda s, key, mid: compose.event_cancelled(
            _event(status="cancelled"),
            _holder(),
            refund_on_its_way=True,
            key=key,
            message_id=mid,
            settings=s,
        ),
        BUYER_NAME,
        BUYER_EMAIL,
        (LOCAL_DAY, LOCAL_TIME, "Quasimodo", "refund is on its way"),
    ),
    Case(
        "event_reminder",
        lambda s, key, mid: compose.event_reminder(
            _event(), _holder(3), key=key, message_id=mid, settings=s
        ),
        BUYER_NAME,
        BUYER_EMAIL,
        (LOCAL_DAY, LOCAL_TIME, "Quasimodo, Kantstraße 12a, Berlin", "3 tickets"),
    ),
    Case(
        "waitlist_offer",
        lambda s, key, mid: compose.waitlist_offer(_offer(), key=key, message_id=mid, settings=s),
        BUYER_NAME,
        BUYER_EMAIL,
        (LOCAL_DAY, LOCAL_TIME, f"{PUBLIC_URL}/orders/{ORDER_ID}", "14:05 CET", "2 seats"),
    ),
    Case(
        "password_reset",
        lambda s, key, mid: compose.password_reset(
            name=BUYER_NAME,
            email=BUYER_EMAIL,
            reset_url=f"{PUBLIC_URL}/reset-password?token=abc.def",
            expires_at=datetime(2027, 2, 1, 13, 5, tzinfo=UTC),
            key=key,
            message_id=mid,
            settings=s,
        ),
        BUYER_NAME,
        BUYER_EMAIL,
        (f"{PUBLIC_URL}/reset-password?token=abc.def", "13:05 UTC", "did not ask"),
    ),
    Case(
        "organizer_first_sale",
        lambda s, key, mid: compose.organizer_first_sale(
            _event(), _organizer(), order=_order(), key=key, message_id=mid, settings=s
        ),
        "Jürgen Ørsted",
        "owner@example.org",
        (LOCAL_DAY, "first sale", "EUR 50.00", "2 tickets"),
    ),
    Case(
        "organizer_sold_out",
        lambda s, key, mid: compose.organizer_sold_out(
            _event(),
            _organizer(),
            ticket_type_name="General admission",
            key=key,
            message_id=mid,
            settings=s,
        ),
        "Jürgen Ørsted",
        "owner@example.org",
        (LOCAL_DAY, "General admission", "sold"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.kind for case in CASES])
class TestEveryKind:
    def test_headers(self, case: Case, settings: Settings) -> None:
        key = f"{case.kind}:{uuid.uuid4()}"
        message_id = compose.message_id_for(key, settings)
        mail = read(case.build(settings, key, message_id))
        headers = mail.message
        assert headers["Message-ID"] == message_id
        assert headers["From"] == "Boxoffice Tickets <tickets@example.org>"
        [to] = headers["To"].addresses
        assert (to.display_name, to.addr_spec) == (case.name, case.address)
        assert headers["Auto-Submitted"] == "auto-generated"
        assert headers["X-Boxoffice-Kind"] == case.kind
        assert headers["X-Boxoffice-Key"] == key
        assert headers["Date"].datetime.tzinfo is not None
        assert headers["Subject"]
        # On the wire every header is ASCII (non-ASCII names RFC 2047-encoded), lines CRLF.
        head = mail.raw.split(b"\r\n\r\n", 1)[0]
        head.decode("ascii")
        assert b"\n" not in head.replace(b"\r\n", b"")

    def test_both_bodies_show_the_essential_facts(self, case: Case, settings: Settings) -> None:
        mail = read(case.build(settings, "k", "<k@example.org>"))
        for fact in case.facts:
            assert fact in _unfolded(mail.text), fact
            assert fact in _unfolded(mail.html).replace("&amp;", "&"), fact
        assert case.name in mail.text

    def test_html_escapes_what_people_typed(self, case: Case, settings: Settings) -> None:
        mail = read(case.build(settings, "k", "<k@example.org>"))
        assert "<script>" not in mail.html
        if case.kind != "password_reset":  # the only kind without the event
            assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Jazz &amp; Blues" in mail.html
            assert MALICIOUS_TITLE in mail.text

    def test_html_loads_nothing_from_elsewhere(self, case: Case, settings: Settings) -> None:
        html = read(case.build(settings, "k", "<k@example.org>")).html
        sources = re.findall(r'(?:src|background)\s*=\s*"([^"]*)"', html)
        assert all(source.startswith("cid:") for source in sources), sources
        assert "<link" not in html and "@import" not in html and "url(" not in html


class TestMessageId:
    def test_stable_per_key_and_in_our_domain(self, settings: Settings) -> None:
        first = compose.message_id_for("order-confirmed:1", settings)
        assert first == compose.message_id_for("order-confirmed:1", settings)
        assert first != compose.message_id_for("order-confirmed:2", settings)
        assert re.fullmatch(r"<[0-9a-f]{32}@example\.org>", first)


# ---------------------------------------------------------------------------------- order


def _decode_qr(png: bytes) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def _modules(png: bytes, size: int) -> list[list[bool]]:
    """The dark modules of a ``size``-module symbol drawn with the quiet zone, by sampling
    the centre of each module."""
    image = Image.open(io.BytesIO(png)).convert("L")
    scale = image.width / (size + 2 * QR_BORDER)
    return [
        [
            image.getpixel(
                (int((QR_BORDER + col + 0.5) * scale), int((QR_BORDER + row + 0.5) * scale))
            )
            < 128
            for col in range(size)
        ]
        for row in range(size)
    ]


class TestOrderConfirmation:
    def test_structure(self, settings: Settings) -> None:
        mail = read(
            compose.order_confirmation(_order(2), key="k", message_id="<k@x>", settings=settings)
        )
        assert mail.part_types() == [
            "multipart/mixed",
            "multipart/related",
            "multipart/alternative",
            "text/plain",
            "text/html",
            "image/png",
            "image/png",
            "application/pdf",
            "application/pdf",
            "text/calendar",
        ]

    def test_one_pdf_ticket_per_ticket(self, settings: Settings) -> None:
        order = _order(3)
        mail = read(
            compose.order_confirmation(order, key="k", message_id="<k@x>", settings=settings)
        )
        pdfs = mail.attachments("application/pdf")
        assert [pdf.get_filename() for pdf in pdfs] == [f"ticket-{t.id}.pdf" for t in order.tickets]
        assert all(pdf.get_content().startswith(b"%PDF-") for pdf in pdfs)

    def test_one_inline_qr_per_ticket_that_decodes_to_its_code(self, settings: Settings) -> None:
        order = _order(3)
        mail = read(
            compose.order_confirmation(order, key="k", message_id="<k@x>", settings=settings)
        )
        images = [part for part in mail.message.walk() if part.get_content_type() == "image/png"]
        assert len(images) == 3
        for ticket, image in zip(order.tickets, images, strict=True):
            content_id = image["Content-ID"].strip("<>")
            assert f'src="cid:{content_id}"' in mail.html
            assert image.get_content_disposition() == "inline"
            png = image.get_content()
            assert _decode_qr(png) == [ticket.code]
            width = Image.open(io.BytesIO(png)).width
            assert 150 <= width <= 250, width
            symbol = segno.make_qr(ticket.code, error=QR_ERROR, boost_error=False)
            assert symbol.error == QR_ERROR.upper()
            expected = [[bool(module) for module in row] for row in symbol.matrix]
            assert _modules(png, len(expected)) == expected

    def test_calendar_entry_in_the_event_zone(self, settings: Settings) -> None:
        mail = read(
            compose.order_confirmation(_order(1), key="k", message_id="<k@x>", settings=settings)
        )
        calendar = mail.calendar()
        [ics] = mail.attachments("text/calendar")
        assert ics.get_param("method") == "PUBLISH"
        assert calendar["METHOD"] == "PUBLISH"
        [entry] = calendar.events
        assert entry.start == datetime(2027, 3, 5, 19, 30, tzinfo=ZoneInfo("Europe/Berlin"))
        assert entry["DTSTART"].params["TZID"] == "Europe/Berlin"
        assert entry["UID"] == f"event-{EVENT_ID}@tickets.example.org"
        assert entry["SEQUENCE"] == 4
        assert entry["ORGANIZER"] == "mailto:tickets@example.org"

    def test_lists_tickets_and_totals(self, settings: Settings) -> None:
        order = _order(2, discount_amount=500, total_amount=4500)
        mail = read(
            compose.order_confirmation(order, key="k", message_id="<k@x>", settings=settings)
        )
        for ticket in order.tickets:
            assert ticket.code in mail.text and ticket.code in mail.html
        assert "2 \u00d7 General admission: EUR 50.00" in mail.text
        assert "Discount: -EUR 5.00" in mail.text
        assert "Total: EUR 45.00" in mail.text
        assert f"{PUBLIC_URL}/orders/{ORDER_ID}" in mail.html

    def test_free_order_says_free(self, settings: Settings) -> None:
        order = _order(1, subtotal_amount=0, total_amount=0)
        mail = read(
            compose.order_confirmation(order, key="k", message_id="<k@x>", settings=settings)
        )
        assert "Total: Free" in mail.text


# ---------------------------------------------------------------------------------- refunds


class TestOrderCancelled:
    def test_mentions_the_refunded_amount(self, settings: Settings) -> None:
        mail = read(
            compose.order_cancelled(
                _order(status="cancelled"),
                refunded_amount=5000,
                key="k",
                message_id="<k@x>",
                settings=settings,
            )
        )
        assert "We are refunding EUR 50.00" in _unfolded(mail.text)
        assert "We are refunding EUR 50.00" in _unfolded(mail.html)

    @pytest.mark.parametrize("refunded", [None, 0])
    def test_nothing_charged_nothing_refunded(
        self, settings: Settings, refunded: int | None
    ) -> None:
        mail = read(
            compose.order_cancelled(
                _order(status="cancelled"),
                refunded_amount=refunded,
                key="k",
                message_id="<k@x>",
                settings=settings,
            )
        )
        assert "nothing to refund" in mail.text and "nothing to refund" in mail.html
        assert "refunding" not in mail.text


class TestEventCancelled:
    def test_one_message_says_the_refund_is_on_its_way(self, settings: Settings) -> None:
        mail = read(
            compose.event_cancelled(
                _event(status="cancelled"),
                _holder(2),
                refund_on_its_way=True,
                key="k",
                message_id="<k@x>",
                settings=settings,
            )
        )
        for body in (_unfolded(mail.text), _unfolded(mail.html)):
            assert "Your refund is on its way" in body
            assert "Your 2 tickets have been cancelled" in body
        assert mail.message["Subject"].startswith("Cancelled: ")

    def test_without_payment_no_refund_promised(self, settings: Settings) -> None:
        mail = read(
            compose.event_cancelled(
                _event(status="cancelled"),
                _holder(1),
                refund_on_its_way=False,
                key="k",
                message_id="<k@x>",
                settings=settings,
            )
        )
        assert "refund is on its way" not in mail.text
        assert "nothing to refund" in mail.text
        assert "Your ticket has been cancelled" in mail.text

    def test_calendar_cancels_the_entry(self, settings: Settings) -> None:
        event = _event(status="cancelled", version=5)
        mail = read(
            compose.event_cancelled(
                event,
                _holder(),
                refund_on_its_way=True,
                key="k",
                message_id="<k@x>",
                settings=settings,
            )
        )
        calendar = mail.calendar()
        [entry] = calendar.events
        assert calendar["METHOD"] == "CANCEL"
        assert entry["STATUS"] == "CANCELLED"
        assert entry["UID"] == f"event-{EVENT_ID}@tickets.example.org"
        assert entry["SEQUENCE"] == 5
        assert mail.part_types() == [
            "multipart/mixed",
            "multipart/alternative",
            "text/plain",
            "text/html",
            "text/calendar",
        ]


# ---------------------------------------------------------------------------------- notices


class TestEventChanged:
    def test_lists_old_and_new_with_an_updated_calendar_entry(self, settings: Settings) -> None:
        moved = _event(
            starts_at=datetime(2027, 3, 6, 18, 30, tzinfo=UTC),
            ends_at=datetime(2027, 3, 6, 21, 30, tzinfo=UTC),
            version=5,
        )
        mail = read(
            compose.event_changed(
                moved,
                _holder(),
                changes={"starts_at": ("Fri 5 Mar 2027, 19:30", "Sat 6 Mar 2027, 19:30")},
                key="k",
                message_id="<k@x>",
                settings=settings,
            )
        )
        assert "Starts:\n  before: Fri 5 Mar 2027, 19:30\n  now:    Sat 6 Mar 2027, 19:30" in (
            mail.text.replace("\r\n", "\n")
        )
        assert "Fri 5 Mar 2027, 19:30" in mail.html and "Sat 6 Mar 2027, 19:30" in mail.html
        [entry] = mail.calendar().events
        assert mail.calendar()["METHOD"] == "PUBLISH"
        assert entry["UID"] == f"event-{EVENT_ID}@tickets.example.org"
        assert entry["SEQUENCE"] == 5
        assert entry.start.isoformat() == "2027-03-06T19:30:00+01:00"


class TestEventReminder:
    def test_online_event_gives_the_link(self, settings: Settings) -> None:
        event = _online_event()
        mail = read(
            compose.event_reminder(
                event, _holder(1), key="k", message_id="<k@x>", settings=settings
            )
        )
        assert event.online_url is not None
        assert event.online_url in mail.text
        assert 'href="https://meet.example.com/masterclass?id=42&amp;lang=en"' in mail.html
        assert "You have one ticket." in _unfolded(mail.text)
        [entry] = mail.calendar().events
        assert entry["LOCATION"] == event.online_url


class TestOrganizerSoldOut:
    def test_whole_event(self, settings: Settings) -> None:
        mail = read(
            compose.organizer_sold_out(
                _event(title="Jazz"),
                _organizer(),
                ticket_type_name=None,
                key="k",
                message_id="<k@x>",
                settings=settings,
            )
        )
        assert mail.message["Subject"] == "Sold out: Jazz"
        assert "Jazz is sold out" in mail.text


def test_messages_can_be_written_to_a_file_and_read_back(
    settings: Settings, tmp_path: Path
) -> None:
    """The bytes are a complete message (what FileMailer writes)."""
    path = tmp_path / "m.eml"
    path.write_bytes(
        compose.order_confirmation(
            _order(1), key="k", message_id="<k@x>", settings=settings
        ).as_bytes()
    )
    again = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert again["X-Boxoffice-Kind"] == "order_confirmation"


# ---------------------------------------------------------------------------------- translation


class _Marking(gettext.NullTranslations):
    """A "catalog" that marks every message it translates."""

    def gettext(self, message: str) -> str:
        return f"⟦{message}⟧"

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return f"⟦{singular if n == 1 else plural}⟧"


@pytest.fixture
def marking_catalog() -> Iterator[None]:
    ENVIRONMENT.install_gettext_translations(_Marking(), newstyle=True)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        ENVIRONMENT.install_null_translations(newstyle=True)  # type: ignore[attr-defined]


def _data_shown() -> list[str]:
    """What the test facts put in the messages, as it is shown (longest first)."""
    event = _event()
    when = event_time(event)
    offer = _offer()
    shown = [
        MALICIOUS_TITLE,
        "Quasimodo, Kantstraße 12a, Berlin",
        "Old Hall, Berlin",
        event.organizer,
        BUYER_NAME,
        _organizer().name,
        "General admission",
        when.zone,
        *when.lines,
        local_moment(offer.offer_expires_at, offer.event.timezone),
        local_moment(offer.offer_expires_at, "UTC"),
        "BOXOFFICE",  # the brand in the HTML header
    ]
    return sorted(shown, key=len, reverse=True)


@pytest.mark.parametrize("case", CASES, ids=[case.kind for case in CASES])
@pytest.mark.usefixtures("marking_catalog")
def test_every_word_goes_through_the_catalog(case: Case, settings: Settings) -> None:
    """With a catalog installed, nothing is left in English but the data: every visible
    string of the templates is marked for translation."""
    mail = read(case.build(settings, "k", "<k@x>"))
    for body in (mail.text, html_module.unescape(re.sub(r"<[^>]*>", " ", mail.html))):
        assert "⟦" in body
        left = re.sub(r"⟦[^⟧]*⟧", " ", body)
        for shown in _data_shown():
            left = left.replace(shown, " ")
        left = re.sub(r"https?://\S+|\S+@\S+|EUR [\d.]+|[\w-]{20,}", " ", left)
        words = re.findall(r"[^\W\d_]{2,}", left)
        assert words == [], f"not marked for translation: {words}"
