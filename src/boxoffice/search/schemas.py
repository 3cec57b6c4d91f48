"""Response shapes of type-ahead and facets (documented in OpenAPI)."""

from __future__ import annotations

from typing import Literal

from boxoffice.core.schemas import OutputModel
from boxoffice.core.timestamps import Timestamp


class Suggestion(OutputModel):
    kind: Literal["title", "city", "category"]
    label: str
    events: int
    filter: dict[str, str]  # the GET /events parameters that pick this suggestion


class FacetCount(OutputModel):
    value: str
    count: int


class DateFacet(OutputModel):
    value: Literal["today", "this_weekend", "next_7_days", "this_month"]
    starts_after: Timestamp
    starts_before: Timestamp
    count: int


class Facets(OutputModel):
    total: int
    categories: list[FacetCount]
    cities: list[FacetCount]
    dates: list[DateFacet]
