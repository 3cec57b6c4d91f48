"""E-mail bodies from Jinja2 templates: a plain-text and an HTML version of every kind.

``templates/<kind>.txt`` and ``templates/<kind>.html`` extend ``base.txt`` and ``base.html``;
the subject is the ``subject`` block of the text template. Every visible string goes through
gettext (``{% trans %}`` / ``_()``); null translations are installed until catalogs exist (see
docs/notifications.md). The environment and its compiled templates live for the process, so
rendering a message of a fan-out costs only the template's own code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from boxoffice.notifications.facts import EventFacts
from boxoffice.ticketing.checkin import price_label
from boxoffice.ticketing.rendering import format_when

KINDS = (
    "order_confirmation",
    "order_cancelled",
    "event_changed",
    "event_cancelled",
    "event_reminder",
    "waitlist_offer",
    "password_reset",
    "organizer_first_sale",
    "organizer_sold_out",
)


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class EventTime:
    """An event's dates in its own zone: one or two lines, and the line naming the zone."""

    lines: tuple[str, ...]
    zone: str

    @property
    def one_line(self) -> str:
        return " ".join(self.lines)


def event_time(event: EventFacts) -> EventTime:
    when, zone = format_when(event.starts_at, event.ends_at, event.timezone)
    return EventTime(tuple(when.split("\n")), zone)


def local_moment(moment: datetime, timezone: str) -> str:
    """``2026-12-12T18:30Z, "Europe/Berlin"`` → ``"12 December 2026, 19:30 CET"``."""
    try:
        zone: ZoneInfo | None = ZoneInfo(timezone)
    except (KeyError, ValueError, OSError):
        zone = None
    local = moment.astimezone(zone or UTC)
    return f"{local.day} {local:%B %Y, %H:%M} {local.tzname()}"


@pass_context
def _money(context: Context, amount: int, currency: str) -> str:
    if amount == 0:
        return str(context.call(context.resolve_or_missing("gettext"), "Free"))
    return price_label(amount, currency)


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("boxoffice.notifications", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    environment.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    environment.filters["money"] = _money
    environment.globals["event_time"] = event_time
    environment.globals["local_moment"] = local_moment
    return environment


# Translators plug catalogs in here: ENVIRONMENT.install_gettext_translations(translations).
ENVIRONMENT = _environment()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render(kind: str, **context: Any) -> RenderedEmail:
    """Subject, text and HTML of one e-mail of ``kind`` (one of :data:`KINDS`)."""
    if kind not in KINDS:
        raise ValueError(f"unknown e-mail kind {kind!r}")
    text_template = ENVIRONMENT.get_template(f"{kind}.txt")
    subject = _one_line(
        "".join(text_template.blocks["subject"](text_template.new_context(context)))
    )
    text = text_template.render(context)
    html = ENVIRONMENT.get_template(f"{kind}.html").render(context, subject=subject)
    return RenderedEmail(subject=subject, text=text, html=html)
