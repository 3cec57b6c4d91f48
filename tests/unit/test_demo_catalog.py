"""The demo catalogue meets what `boxoffice seed --demo` promises newcomers."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from boxoffice.events.categories import CATEGORIES
from boxoffice.seeding.catalog import DEMO_ORGANIZATIONS, assign_organization, generate_events

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def _events() -> list:  # type: ignore[type-arg]
    return generate_events(random.Random(2026), now=NOW, count=240)


class TestDemoCatalog:
    def test_breadth(self) -> None:
        events = _events()
        assert len(events) >= 200
        assert len({event.city for event in events if event.city}) >= 10
        assert len({event.category for event in events}) >= 8
        assert {event.category for event in events} <= set(CATEGORIES)
        organizers = {assign_organization(event, DEMO_ORGANIZATIONS).slug for event in events}
        assert len(organizers) >= 3

    def test_events_are_upcoming_and_well_formed(self) -> None:
        for event in _events():
            assert NOW < event.starts_at < event.ends_at <= NOW + timedelta(days=200)
            if event.lat is not None and event.lon is not None:
                assert -90 <= event.lat <= 90 and -180 <= event.lon <= 180
            else:
                assert event.online_url is not None
            currencies = {ticket.currency for ticket in event.ticket_types}
            assert len(currencies) == 1
            assert all(ticket.quantity > 0 for ticket in event.ticket_types)

    def test_some_events_are_free_and_some_are_not(self) -> None:
        prices = [min(t.price_amount for t in event.ticket_types) for event in _events()]
        assert any(price == 0 for price in prices)
        assert sum(price > 0 for price in prices) > len(prices) / 2

    def test_real_coordinates_for_known_cities(self) -> None:
        berlin = [event for event in _events() if event.city == "Berlin" and event.lat]
        assert berlin
        for event in berlin:  # venues within ~15 km of Berlin's centre (52.52 N, 13.40 E)
            assert abs(event.lat - 52.52) < 0.15 and abs(event.lon - 13.40) < 0.25  # type: ignore[operator]

    def test_deterministic(self) -> None:
        assert [e.title for e in _events()] == [e.title for e in _events()]
