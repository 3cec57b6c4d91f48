"""Cache topics of public event data (see core/cache.py for how generations work)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.db.session import record_change

CATALOG = "catalog"  # every public listing


def event_topic(event_id: uuid.UUID) -> str:
    return f"event:{event_id}"


def public_event_changed(session: AsyncSession, event_id: uuid.UUID) -> None:
    """The event or its ticket types changed: its page and every listing are stale."""
    record_change(session, CATALOG, event_topic(event_id))


# Only the listing's own parameters are part of its key, so junk parameters cannot multiply
# entries. Raw values are used: every stored entry was computed after they had been validated.
LISTING_PARAMETERS = frozenset(
    {
        "q",
        "category",
        "city",
        "starts_after",
        "starts_before",
        "lat",
        "lon",
        "radius_km",
        "free",
        "available",
        "organization_id",
        "sort",
        "fields",
        "limit",
        "cursor",
    }
)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _canonical(query: Iterable[tuple[str, str]], parameters: frozenset[str]) -> str:
    return "&".join(f"{name}={value}" for name, value in sorted(query) if name in parameters)


def listing_cache_key(query: Iterable[tuple[str, str]]) -> str:
    return "events:list:" + _digest(_canonical(query, LISTING_PARAMETERS))


FACET_PARAMETERS = (LISTING_PARAMETERS - {"sort", "fields", "limit", "cursor"}) | {"timezone"}


def facets_cache_key(query: Iterable[tuple[str, str]]) -> str:
    return "events:facets:" + _digest(_canonical(query, FACET_PARAMETERS))


def suggest_cache_key(typed: str) -> str:
    return "events:suggest:" + _digest(typed.strip().casefold())


def event_cache_key(event_id: uuid.UUID) -> str:
    return f"event:{event_id}"
