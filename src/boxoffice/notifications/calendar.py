"""The calendar entry (iCalendar, RFC 5545/5546) of an event, attached as ``event.ics``.

Calendars match entries by UID, so every file about one event carries the same UID and a
SEQUENCE that grows with each change (the event's ``version``): an updated file replaces the
entry, a ``CANCEL`` one removes it. The file is a pure function of its arguments, cached, so a
notice fanned out to thousands of holders builds it once.
"""

from __future__ import annotations

import functools
from datetime import UTC, timedelta, tzinfo
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress
from icalendar.enums import STATUS

from boxoffice.notifications.facts import EventFacts

Method = Literal["PUBLISH", "CANCEL"]

PRODID = "-//Boxoffice//Tickets//EN"
# VTIMEZONE rules are written for this long around the event (DST changes on either side).
_ZONE_MARGIN = timedelta(days=366)


def event_uid(event: EventFacts) -> str:
    domain = urlsplit(event.url).hostname or "boxoffice.localhost"
    return f"event-{event.id}@{domain}"


def event_ics(
    event: EventFacts,
    *,
    method: Method = "PUBLISH",
    sequence: int = 0,
    organizer_email: str | None = None,
) -> bytes:
    """The event as an iCalendar object with ``method``; times in the event's own zone.

    ``organizer_email``: the address in ORGANIZER (RFC 5546 asks for one in both methods; some
    calendars ignore a CANCEL without it), named after the organizer.
    """
    return _event_ics(event, method, sequence, organizer_email)


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # unknown zone: UTC, like the printed ticket
        return UTC


def _location(event: EventFacts) -> str | None:
    return event.venue_line or event.online_url


def _description(event: EventFacts) -> str:
    return "\n\n".join(part for part in (event.description.strip(), event.url) if part)


@functools.lru_cache(maxsize=1024)
def _event_ics(
    event: EventFacts, method: Method, sequence: int, organizer_email: str | None
) -> bytes:
    zone = _zone(event.timezone)
    cancelled = method == "CANCEL" or event.status == "cancelled"
    entry = Event.new(
        uid=event_uid(event),
        sequence=sequence,
        stamp=event.updated_at.astimezone(UTC),
        last_modified=event.updated_at.astimezone(UTC),
        start=event.starts_at.astimezone(zone),
        end=event.ends_at.astimezone(zone),
        summary=event.title,
        location=_location(event),
        url=event.url,
        description=_description(event),
        status=STATUS.CANCELLED if cancelled else STATUS.CONFIRMED,
    )
    if organizer_email:
        organizer = vCalAddress(f"mailto:{organizer_email}")
        organizer.params["CN"] = event.organizer
        entry.add("organizer", organizer)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    calendar.add_component(entry)
    calendar.add_missing_timezones(
        first_date=(event.starts_at - _ZONE_MARGIN).date(),
        last_date=(event.ends_at + _ZONE_MARGIN).date(),
    )
    ics: bytes = calendar.to_ical()
    return ics
