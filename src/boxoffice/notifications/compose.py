"""Whole e-mail messages, one function per kind, ready for :mod:`.transport`.

Every message carries a text and an HTML body (multipart/alternative) and the headers:
``From``, ``To`` ("Name <address>"), ``Subject``, ``Date``, ``Message-ID`` (given: stable per
delivery key, see :func:`message_id_for`), ``Auto-Submitted: auto-generated``,
``X-Boxoffice-Kind`` and ``X-Boxoffice-Key`` (the delivery key).

The order confirmation is the only heavy one (a PDF per ticket: tens of milliseconds each;
run it off the event loop). The bulk kinds (event changed, cancelled, reminder) cost two
template renders and a cached calendar file each.
"""

from __future__ import annotations

import functools
import hashlib
import io
import uuid
from datetime import UTC, datetime
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from typing import Any

import segno

from boxoffice.config import Settings
from boxoffice.notifications.calendar import Method, event_ics
from boxoffice.notifications.facts import (
    EventFacts,
    Holder,
    OrderFacts,
    OrganizerRecipient,
    TicketFacts,
    WaitlistOfferFacts,
)
from boxoffice.notifications.render import RenderedEmail, render
from boxoffice.ticketing.checkin import price_label
from boxoffice.ticketing.rendering import QR_BORDER, QR_ERROR, PrintableTicket, ticket_pdf

# The inline QR image is about this wide; the HTML shows it at 200 CSS pixels.
QR_PIXELS = 200
_FALLBACK_DOMAIN = "boxoffice.localhost"


class _HeaderClasses(HeaderRegistry):
    """The standard registry, except that it builds each header class once: the stock one
    builds a new class on every header set, a quarter of the cost of a bulk message."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        if key not in self._classes:
            self._classes[key] = super().__getitem__(name)
        return self._classes[key]


# email.policy.SMTP (CRLF line ends, RFC 2047-encoded non-ASCII headers), faster.
POLICY = SMTP.clone(header_factory=_HeaderClasses())


# ---------------------------------------------------------------------------------- headers


@functools.lru_cache(maxsize=8)
def _mail_from_address(mail_from: str) -> str:
    return parseaddr(mail_from)[1]


def mail_domain(settings: Settings) -> str:
    return _mail_from_address(settings.mail_from).rpartition("@")[2] or _FALLBACK_DOMAIN


def message_id_for(key: str, settings: Settings) -> str:
    """The Message-ID of the e-mail delivered under ``key``: the same on every retry, so a
    rare second delivery is recognisable as the same message."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{mail_domain(settings)}>"


def address_of(name: str, email: str) -> Address:
    """``"Name <email>"``; the name on one line (any script: it is RFC 2047-encoded)."""
    return Address(display_name=" ".join(name.split()), addr_spec=email)


@functools.lru_cache(maxsize=64)
def _header(name: str, value: str) -> BaseHeader:
    """A parsed header: the same on every message, parsed once (parsing costs more than the
    rest of a bulk message's headers)."""
    header: BaseHeader = POLICY.header_factory(name, value)
    return header


def _headed(
    kind: str, *, to: Address, subject: str, key: str, message_id: str, settings: Settings
) -> EmailMessage:
    """An empty message with the common headers."""
    message = EmailMessage(policy=POLICY)
    message["From"] = _header("From", settings.mail_from)
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = _header("Auto-Submitted", "auto-generated")
    message["X-Boxoffice-Kind"] = _header("X-Boxoffice-Kind", kind)
    message["X-Boxoffice-Key"] = key
    return message


def _with_bodies(message: EmailMessage, rendered: RenderedEmail) -> EmailMessage:
    """``message`` becomes multipart/alternative: the text, then the HTML."""
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


def _message(
    kind: str,
    *,
    to: Address,
    rendered: RenderedEmail,
    key: str,
    message_id: str,
    settings: Settings,
) -> EmailMessage:
    """A multipart/alternative message with the common headers."""
    message = _headed(
        kind, to=to, subject=rendered.subject, key=key, message_id=message_id, settings=settings
    )
    return _with_bodies(message, rendered)


def _part() -> EmailMessage:
    return EmailMessage(policy=POLICY)


@functools.lru_cache(maxsize=256)
def _calendar_part(event: EventFacts, method: Method, organizer_email: str | None) -> EmailMessage:
    """The ``event.ics`` attachment. One object serves every message about the same event
    state: writing a message out never changes a leaf part, and building it costs as much as
    the rest of a bulk message."""
    part = _part()
    part.set_content(
        event_ics(event, method=method, sequence=event.version, organizer_email=organizer_email),
        maintype="text",
        subtype="calendar",
        disposition="attachment",
        filename="event.ics",
        params={"method": method, "charset": "utf-8"},
    )
    return part


def _calendar(event: EventFacts, *, method: Method, settings: Settings) -> EmailMessage:
    return _calendar_part(event, method, _mail_from_address(settings.mail_from) or None)


def _order_url(order_id: uuid.UUID, settings: Settings) -> str:
    return f"{settings.public_url}/orders/{order_id}"


# ---------------------------------------------------------------------------------- tickets


def qr_png(code: str) -> bytes:
    """The ticket's QR code as a PNG of about :data:`QR_PIXELS` pixels, quiet zone included:
    the same symbol as the printed ticket's (error level M, never a Micro QR)."""
    qr = segno.make_qr(code, error=QR_ERROR, boost_error=False)
    side = qr.symbol_size(scale=1, border=QR_BORDER)[0]
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=max(1, round(QR_PIXELS / side)), border=QR_BORDER)
    return buffer.getvalue()


def qr_content_id(ticket: TicketFacts, settings: Settings) -> str:
    """The Content-ID of a ticket's inline QR image, without the angle brackets."""
    return f"qr-{ticket.id}@{mail_domain(settings)}"


def printable_ticket(order: OrderFacts, ticket: TicketFacts) -> PrintableTicket:
    event = order.event
    return PrintableTicket(
        code=ticket.code,
        ticket_id=str(ticket.id),
        event_title=event.title,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        timezone=event.timezone,
        venue=event.venue_line,
        online_url=event.online_url,
        attendee_name=ticket.attendee_name or order.buyer_name,
        ticket_type_name=ticket.ticket_type_name,
        price_label=price_label(ticket.price_amount, ticket.currency),
        order_id=str(order.id),
        organizer=event.organizer,
    )


# ---------------------------------------------------------------------------------- kinds


def order_confirmation(
    order: OrderFacts, *, key: str, message_id: str, settings: Settings
) -> EmailMessage:
    """multipart/mixed: [related: [alternative: [text, html], a QR PNG per ticket],
    a PDF per ticket, event.ics]."""
    content_ids = {ticket.id: qr_content_id(ticket, settings) for ticket in order.tickets}
    rendered = render(
        "order_confirmation",
        order=order,
        qr_cids=content_ids,
        order_url=_order_url(order.id, settings),
    )
    message = _headed(
        "order_confirmation",
        to=address_of(order.buyer_name, order.buyer_email),
        subject=rendered.subject,
        key=key,
        message_id=message_id,
        settings=settings,
    )
    related = _part()
    related.make_related()
    related.attach(_with_bodies(_part(), rendered))
    for ticket in order.tickets:
        related.add_related(
            qr_png(ticket.code),
            maintype="image",
            subtype="png",
            cid=f"<{content_ids[ticket.id]}>",
            disposition="inline",
            filename=f"ticket-{ticket.id}.png",
        )
    message.make_mixed()
    message.attach(related)
    for ticket in order.tickets:
        message.add_attachment(
            ticket_pdf(printable_ticket(order, ticket)),
            maintype="application",
            subtype="pdf",
            filename=f"ticket-{ticket.id}.pdf",
        )
    message.attach(_calendar(order.event, method="PUBLISH", settings=settings))
    return message


def order_cancelled(
    order: OrderFacts,
    *,
    refunded_amount: int | None,
    key: str,
    message_id: str,
    settings: Settings,
) -> EmailMessage:
    """``refunded_amount``: what goes back to the buyer; None or 0 when nothing was charged."""
    rendered = render(
        "order_cancelled",
        order=order,
        refunded_amount=refunded_amount,
        order_url=_order_url(order.id, settings),
    )
    return _message(
        "order_cancelled",
        to=address_of(order.buyer_name, order.buyer_email),
        rendered=rendered,
        key=key,
        message_id=message_id,
        settings=settings,
    )


def _event_notice(
    kind: str,
    event: EventFacts,
    holder: Holder,
    *,
    method: Method,
    key: str,
    message_id: str,
    settings: Settings,
    **context: Any,
) -> EmailMessage:
    """multipart/mixed: [alternative: [text, html], event.ics]."""
    rendered = render(kind, event=event, holder=holder, **context)
    message = _headed(
        kind,
        to=address_of(holder.name, holder.email),
        subject=rendered.subject,
        key=key,
        message_id=message_id,
        settings=settings,
    )
    message.make_mixed()
    message.attach(_with_bodies(_part(), rendered))
    message.attach(_calendar(event, method=method, settings=settings))
    return message


def event_changed(
    event: EventFacts,
    holder: Holder,
    *,
    changes: dict[str, tuple[str, str]],
    key: str,
    message_id: str,
    settings: Settings,
) -> EmailMessage:
    """``changes``: field → (old, new), both ready to show. Known fields get a translated
    label (``starts_at``, ``ends_at``, ``time``, ``venue``, ``online_url``, ``title``); the
    attached calendar entry replaces the old one (same UID, SEQUENCE = the event's version)."""
    return _event_notice(
        "event_changed",
        event,
        holder,
        method="PUBLISH",
        key=key,
        message_id=message_id,
        settings=settings,
        changes=changes,
    )


def event_cancelled(
    event: EventFacts,
    holder: Holder,
    *,
    refund_on_its_way: bool,
    key: str,
    message_id: str,
    settings: Settings,
) -> EmailMessage:
    """The one message a holder gets when the event is cancelled: it also says the refund is
    on its way; the attached calendar file (METHOD:CANCEL) removes the entry."""
    return _event_notice(
        "event_cancelled",
        event,
        holder,
        method="CANCEL",
        key=key,
        message_id=message_id,
        settings=settings,
        refund_on_its_way=refund_on_its_way,
    )


def event_reminder(
    event: EventFacts, holder: Holder, *, key: str, message_id: str, settings: Settings
) -> EmailMessage:
    return _event_notice(
        "event_reminder",
        event,
        holder,
        method="PUBLISH",
        key=key,
        message_id=message_id,
        settings=settings,
    )


def waitlist_offer(
    offer: WaitlistOfferFacts, *, key: str, message_id: str, settings: Settings
) -> EmailMessage:
    return _message(
        "waitlist_offer",
        to=address_of(offer.user_name, offer.user_email),
        rendered=render("waitlist_offer", offer=offer),
        key=key,
        message_id=message_id,
        settings=settings,
    )


def password_reset(
    *,
    name: str,
    email: str,
    reset_url: str,
    expires_at: datetime,
    key: str,
    message_id: str,
    settings: Settings,
) -> EmailMessage:
    return _message(
        "password_reset",
        to=address_of(name, email),
        rendered=render("password_reset", name=name, reset_url=reset_url, expires_at=expires_at),
        key=key,
        message_id=message_id,
        settings=settings,
    )


def organizer_first_sale(
    event: EventFacts,
    recipient: OrganizerRecipient,
    *,
    order: OrderFacts,
    key: str,
    message_id: str,
    settings: Settings,
) -> EmailMessage:
    return _message(
        "organizer_first_sale",
        to=address_of(recipient.name, recipient.email),
        rendered=render("organizer_first_sale", event=event, recipient=recipient, order=order),
        key=key,
        message_id=message_id,
        settings=settings,
    )


def organizer_sold_out(
    event: EventFacts,
    recipient: OrganizerRecipient,
    *,
    ticket_type_name: str | None,
    key: str,
    message_id: str,
    settings: Settings,
) -> EmailMessage:
    """``ticket_type_name``: the ticket type that sold out; None when the whole event did."""
    return _message(
        "organizer_sold_out",
        to=address_of(recipient.name, recipient.email),
        rendered=render(
            "organizer_sold_out",
            event=event,
            recipient=recipient,
            ticket_type_name=ticket_type_name,
        ),
        key=key,
        message_id=message_id,
        settings=settings,
    )
