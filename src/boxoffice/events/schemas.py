from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import (
    AfterValidator,
    Field,
    HttpUrl,
    Strict,
    StringConstraints,
    model_validator,
)

from boxoffice.core.errors import ValidationFailed
from boxoffice.core.schemas import InputModel, OutputModel
from boxoffice.core.timestamps import Timestamp
from boxoffice.events.models import EventStatus

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=20_000)]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40)
]


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _check_time_zone(value: str) -> str:
    if value not in _time_zones():
        raise ValueError("must be an IANA time zone such as Europe/Berlin")
    return value


def _dedupe(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def parse_zone(value: str, *, field: str) -> ZoneInfo:
    """An IANA zone from a query parameter, or a 422 naming the parameter."""
    try:
        return ZoneInfo(_check_time_zone(value))
    except ValueError as exc:
        raise ValidationFailed(field, str(exc)) from None


TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_check_time_zone)]
# Free-form, folded to lower case so "Music" and "music" are one category; CATEGORIES (served
# at /categories) is the suggested vocabulary that the web app and the demo data use.
Category = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40)
]
Tags = Annotated[list[Tag], Field(max_length=20), AfterValidator(_dedupe)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
OnlineUrl = Annotated[HttpUrl, Field(max_length=2048)]
Capacity = Annotated[int, Strict(), Field(ge=1, le=10_000_000)]


class VenueIn(InputModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    city: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    country: CountryCode
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _both_coordinates_or_neither(self) -> VenueIn:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        return self


class VenueRead(OutputModel):
    name: str
    address: str
    city: str
    country: str
    lat: float | None
    lon: float | None


class EventCreate(InputModel):
    title: Title
    description: Description = ""
    category: Category
    tags: Tags = Field(default_factory=list)
    starts_at: Timestamp
    ends_at: Timestamp
    timezone: TimeZone
    venue: VenueIn | None = None
    online_url: OnlineUrl | None = None
    capacity: Capacity | None = None


class EventUpdate(InputModel):
    """Every field optional; ``venue: null``, ``online_url: null`` or ``capacity: null``
    removes it."""

    title: Title | None = None
    description: Description | None = None
    category: Category | None = None
    tags: Tags | None = None
    starts_at: Timestamp | None = None
    ends_at: Timestamp | None = None
    timezone: TimeZone | None = None
    venue: VenueIn | None = None
    online_url: OnlineUrl | None = None
    capacity: Capacity | None = None


class EventRead(OutputModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    title: str
    description: str
    category: str
    tags: list[str]
    starts_at: Timestamp
    ends_at: Timestamp
    timezone: str
    status: EventStatus
    venue: VenueRead | None
    online_url: str | None
    capacity: int | None = Field(
        description="Seats shared by all ticket types (null: only their own quantities count)"
    )
    min_price_amount: int | None
    currency: str | None
    available: int
    published_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp
    distance_km: float | None = Field(
        default=None, description="Only when the listing is given lat and lon"
    )


EventSort = Literal["starts_at", "relevance", "distance"]
EVENT_FIELDS: frozenset[str] = frozenset(EventRead.model_fields)
