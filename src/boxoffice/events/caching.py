"""Cache topics of public event data (see core/cache.py for how generations work)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.db.session import record_change

CATALOG = "catalog"  # every public listing


def event_topic(event_id: uuid.UUID) -> str:
    return f"event:{event_id}"


def public_event_changed(session: AsyncSession, event_id: uuid.UUID) -> None:
    """The event or its ticket types changed: its page and every listing are stale."""
    record_change(session, CATALOG, event_topic(event_id))
