"""The world city table behind `boxoffice seed --events N`: real places, valid zones and money."""

from __future__ import annotations

import math
from collections import Counter
from zoneinfo import ZoneInfo, available_timezones

import pytest

from boxoffice.core.money import MINOR_UNITS
from boxoffice.seeding.catalog import CITIES
from boxoffice.seeding.world import (
    COUNTRY_CURRENCIES,
    POPULATIONS,
    WORLD_CITIES,
    WORLD_PRICE_LEVELS,
)

BY_KEY = {(city.name, city.country): city for city in WORLD_CITIES}


def _great_circle_km(a: tuple[str, str], b: tuple[str, str]) -> float:
    first, second = BY_KEY[a], BY_KEY[b]
    lat1, lat2 = math.radians(first.lat), math.radians(second.lat)
    dlat, dlon = lat2 - lat1, math.radians(second.lon - first.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


class TestWorldCities:
    def test_size_and_no_duplicates(self) -> None:
        assert len(WORLD_CITIES) >= 520
        assert len(BY_KEY) == len(WORLD_CITIES)

    def test_every_continent(self) -> None:
        regions = Counter(city.timezone.split("/")[0] for city in WORLD_CITIES)
        assert regions["Europe"] >= 100
        assert regions["America"] >= 100
        assert regions["Asia"] >= 100
        assert regions["Africa"] >= 30
        assert regions["Australia"] + regions["Pacific"] >= 15
        assert sum(city.lat < 0 for city in WORLD_CITIES) >= 60

    def test_zones_countries_and_coordinates_are_valid(self) -> None:
        zones = available_timezones()
        for city in WORLD_CITIES:
            assert city.timezone in zones, city
            ZoneInfo(city.timezone)
            assert len(city.country) == 2 and city.country.isupper() and city.country.isascii()
            assert -90 <= city.lat <= 90 and -180 <= city.lon <= 180
            assert city.name == city.name.strip() and city.name
            assert POPULATIONS[(city.name, city.country)] >= 1

    def test_currencies_have_minor_units_and_a_price_level(self) -> None:
        for city in WORLD_CITIES:
            assert city.currency == COUNTRY_CURRENCIES[city.country]
            assert city.currency in MINOR_UNITS
            assert WORLD_PRICE_LEVELS[city.currency] > 0
        assert {"EUR", "USD", "JPY", "INR", "BRL", "NGN"} <= {c.currency for c in WORLD_CITIES}

    def test_catalogue_cities_are_included_unchanged(self) -> None:
        for city in CITIES:
            world = BY_KEY[(city.name, city.country)]
            assert (world.lat, world.lon, world.timezone, world.currency) == (
                city.lat,
                city.lon,
                city.timezone,
                city.currency,
            )

    @pytest.mark.parametrize(
        ("a", "b", "km"),
        [
            (("Paris", "FR"), ("London", "GB"), 344),
            (("Berlin", "DE"), ("Munich", "DE"), 504),
            (("Madrid", "ES"), ("Barcelona", "ES"), 505),
            (("Sydney", "AU"), ("Melbourne", "AU"), 713),
            (("New York", "US"), ("Los Angeles", "US"), 3936),
            (("Moscow", "RU"), ("Saint Petersburg", "RU"), 634),
            (("Beijing", "CN"), ("Shanghai", "CN"), 1067),
            (("Cape Town", "ZA"), ("Johannesburg", "ZA"), 1262),
        ],
    )
    def test_known_distances(self, a: tuple[str, str], b: tuple[str, str], km: float) -> None:
        assert _great_circle_km(a, b) == pytest.approx(km, rel=0.01)

    def test_known_places(self) -> None:
        assert BY_KEY[("Tokyo", "JP")].timezone == "Asia/Tokyo"
        assert BY_KEY[("Buenos Aires", "AR")].lat < 0 < BY_KEY[("Reykjavík", "IS")].lat
        assert BY_KEY[("Honolulu", "US")].timezone == "Pacific/Honolulu"
        assert BY_KEY[("Hyderabad", "IN")] != BY_KEY[("Hyderabad", "PK")]
