"""The event's calendar entry (event.ics): what calendars need to add, update and remove it."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from boxoffice.notifications.calendar import event_ics
from boxoffice.notifications.facts import EventFacts

EVENT_ID = uuid.UUID("6f1c2a9e-3b7d-4c59-9a3e-0d2b8f41c7aa")


def _event(**changes: Any) -> EventFacts:
    facts = EventFacts(
        id=EVENT_ID,
        title="Jazz at the Riverside",
        description="An evening of modern jazz.",
        starts_at=datetime(2027, 3, 5, 18, 30, tzinfo=UTC),  # 19:30 in Berlin (CET)
        ends_at=datetime(2027, 3, 5, 21, 30, tzinfo=UTC),
        timezone="Europe/Berlin",
        venue_name="Quasimodo",
        venue_address="Kantstraße 12a",
        city="Berlin",
        country="DE",
        online_url=None,
        organizer="Riverside Music",
        url=f"https://tickets.example.org/events/{EVENT_ID}",
        status="published",
        version=3,
        updated_at=datetime(2027, 1, 10, 12, 0, tzinfo=UTC),
    )
    return dataclasses.replace(facts, **changes)


def _parse(ics: bytes) -> tuple[Calendar, Event]:
    calendar = Calendar.from_ical(ics)
    [entry] = calendar.events
    return calendar, entry


class TestPublish:
    def test_the_entry_a_calendar_adds(self) -> None:
        calendar, entry = _parse(event_ics(_event(), sequence=3))
        assert calendar["METHOD"] == "PUBLISH"
        assert calendar["VERSION"] == "2.0"
        assert entry["UID"] == f"event-{EVENT_ID}@tickets.example.org"
        assert entry["SUMMARY"] == "Jazz at the Riverside"
        assert entry["LOCATION"] == "Quasimodo, Kantstraße 12a, Berlin"
        assert entry["URL"] == f"https://tickets.example.org/events/{EVENT_ID}"
        assert "An evening of modern jazz." in entry["DESCRIPTION"]
        assert entry["STATUS"] == "CONFIRMED"
        assert entry["SEQUENCE"] == 3
        assert entry.stamp == datetime(2027, 1, 10, 12, 0, tzinfo=UTC)

    def test_times_are_in_the_event_zone_with_its_definition(self) -> None:
        calendar, entry = _parse(event_ics(_event()))
        berlin = ZoneInfo("Europe/Berlin")
        assert entry.start == datetime(2027, 3, 5, 19, 30, tzinfo=berlin)
        assert entry.end == datetime(2027, 3, 5, 22, 30, tzinfo=berlin)
        assert entry["DTSTART"].params["TZID"] == "Europe/Berlin"
        assert [zone.tz_name for zone in calendar.timezones] == ["Europe/Berlin"]
        assert calendar.get_missing_tzids() == set()
        assert b"DTSTART;TZID=Europe/Berlin:20270305T193000" in event_ics(_event())

    def test_the_zone_covers_a_daylight_saving_change(self) -> None:
        """An event across the spring change: both offsets are defined."""
        event = _event(
            starts_at=datetime(2027, 3, 27, 20, 0, tzinfo=UTC),
            ends_at=datetime(2027, 3, 28, 6, 0, tzinfo=UTC),
        )
        _, entry = _parse(event_ics(event))
        assert entry.start.utcoffset().total_seconds() == 3600
        assert entry.end.utcoffset().total_seconds() == 7200

    def test_online_event_location_is_its_link(self) -> None:
        event = _event(
            venue_name=None,
            venue_address=None,
            city=None,
            country=None,
            online_url="https://meet.example.com/jazz",
        )
        _, entry = _parse(event_ics(event))
        assert entry["LOCATION"] == "https://meet.example.com/jazz"

    def test_unknown_zone_falls_back_to_utc(self) -> None:
        _, entry = _parse(event_ics(_event(timezone="Mars/Olympus_Mons")))
        assert entry.start == datetime(2027, 3, 5, 18, 30, tzinfo=UTC)

    def test_organizer_named_after_the_organization(self) -> None:
        _, entry = _parse(event_ics(_event(), organizer_email="tickets@example.org"))
        assert entry["ORGANIZER"] == "mailto:tickets@example.org"
        assert entry["ORGANIZER"].params["CN"] == "Riverside Music"

    def test_same_facts_same_bytes(self) -> None:
        """Retries send identical attachments (and the cache may serve them)."""
        assert event_ics(_event(), sequence=3) == event_ics(_event(), sequence=3)


class TestUpdatesAndCancellation:
    def test_an_update_keeps_the_uid_and_raises_the_sequence(self) -> None:
        _, before = _parse(event_ics(_event(), sequence=3))
        moved = _event(
            starts_at=datetime(2027, 3, 6, 18, 30, tzinfo=UTC),
            ends_at=datetime(2027, 3, 6, 21, 30, tzinfo=UTC),
            version=4,
        )
        _, after = _parse(event_ics(moved, sequence=4))
        assert after["UID"] == before["UID"]
        assert after["SEQUENCE"] > before["SEQUENCE"]
        assert after.start.date().isoformat() == "2027-03-06"

    def test_cancel(self) -> None:
        calendar, entry = _parse(
            event_ics(
                _event(status="cancelled"),
                method="CANCEL",
                sequence=5,
                organizer_email="tickets@example.org",
            )
        )
        assert calendar["METHOD"] == "CANCEL"
        assert entry["STATUS"] == "CANCELLED"
        assert entry["SEQUENCE"] == 5
        assert entry["UID"] == f"event-{EVENT_ID}@tickets.example.org"

    def test_a_cancelled_event_published_again_says_cancelled(self) -> None:
        _, entry = _parse(event_ics(_event(status="cancelled")))
        assert entry["STATUS"] == "CANCELLED"
