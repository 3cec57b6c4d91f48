"""What a search asks for: the text and every filter of ``GET /events``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from boxoffice.search.text import ParsedQuery


@dataclass(frozen=True, slots=True)
class EventFilters:
    query: ParsedQuery | None = None
    category: str | None = None
    city: str | None = None
    starts_after: datetime | None = None
    starts_before: datetime | None = None
    organization_id: uuid.UUID | None = None
    free: bool | None = None
    available: bool | None = None
    near: tuple[float, float] | None = None
    radius_km: float | None = None
    sort: str = "starts_at"

    def without(self, *names: str) -> EventFilters:
        cleared: dict[str, Any] = dict.fromkeys(names)
        return replace(self, **cleared)
