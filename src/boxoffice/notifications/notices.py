"""Writing notices into the caller's transaction (kept free of heavy imports: the services
that cause notices import this)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.jobs import outbox

EVENT_CANCELLED = "event_cancelled"
EVENT_CHANGED = "event_changed"
EVENT_REMINDER = "event_reminder"
NOTICE_KINDS = (EVENT_CANCELLED, EVENT_CHANGED, EVENT_REMINDER)


async def announce(
    session: AsyncSession,
    *,
    kind: str,
    event_id: uuid.UUID,
    notice_key: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Tell every holder of the event, fanned out in batches once this transaction commits.
    ``notice_key`` names the notice: announcing it again writes nothing."""
    await outbox.enqueue(
        session,
        "notify.fan_out",
        {
            "kind": kind,
            "event_id": str(event_id),
            "notice_key": notice_key,
            "details": details or {},
        },
        dedupe_key=notice_key,
    )


async def order_confirmed(session: AsyncSession, order_id: uuid.UUID) -> None:
    """The buyer's tickets by e-mail; the organizer's first-sale / sold-out notices."""
    await outbox.enqueue(session, "mail.order_confirmation", {"order_id": str(order_id)})
    await outbox.enqueue(session, "notify.organizer_sales", {"order_id": str(order_id)})


async def order_cancelled(session: AsyncSession, order_id: uuid.UUID) -> None:
    await outbox.enqueue(session, "mail.order_cancelled", {"order_id": str(order_id)})


async def waitlist_offered(session: AsyncSession, entry_id: uuid.UUID) -> None:
    await outbox.enqueue(session, "mail.waitlist_offer", {"entry_id": str(entry_id)})
