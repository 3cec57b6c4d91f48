"""Events as JSON-ready dicts. Hot read paths build these directly (no model validation) and
serialize them once with orjson; ``EventRead`` documents the same shape in OpenAPI."""

from __future__ import annotations

from typing import Any

from boxoffice.events.models import Event
from boxoffice.ticketing.service import EMPTY_SUMMARY, InventorySummary


def venue_document(event: Event) -> dict[str, Any] | None:
    if event.venue_name is None:
        return None
    return {
        "name": event.venue_name,
        "address": event.venue_address or "",
        "city": event.city,
        "country": event.country,
        "lat": event.lat,
        "lon": event.lon,
    }


def event_document(
    event: Event, summary: InventorySummary | None, *, distance_km: float | None = None
) -> dict[str, Any]:
    summary = summary or EMPTY_SUMMARY
    document: dict[str, Any] = {
        "id": str(event.id),
        "organization_id": str(event.organization_id),
        "title": event.title,
        "description": event.description,
        "category": event.category,
        "tags": event.tags,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "timezone": event.timezone,
        "status": event.status.value,
        "venue": venue_document(event),
        "online_url": event.online_url,
        "capacity": event.capacity,
        "min_price_amount": summary.min_price_amount,
        "currency": summary.currency,
        "available": summary.available,
        "published_at": event.published_at,
        "created_at": event.created_at,
        "updated_at": event.updated_at,
    }
    if distance_km is not None:
        document["distance_km"] = round(distance_km, 3)
    return document


def select_fields(document: dict[str, Any], fields: frozenset[str] | None) -> dict[str, Any]:
    if fields is None:
        return document
    return {name: value for name, value in document.items() if name in fields}
