from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.db.base import Base, IdMixin, TimestampMixin


class EventStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class Event(IdMixin, TimestampMixin, Base):
    """An event. Its venue is a value object stored in the event's own columns, so listings
    filter by city and location without a join."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_status_starts_at_id", "status", "starts_at", "id"),
        Index("ix_events_organization_id_starts_at", "organization_id", "starts_at"),
        Index("ix_events_lat_lon", "lat", "lon"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        CheckConstraint("sold >= 0 AND held >= 0", name="counters_not_negative"),
        CheckConstraint("capacity IS NULL OR sold + held <= capacity", name="no_oversell"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(40))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64))
    status: Mapped[EventStatus] = mapped_column(
        Enum(
            EventStatus,
            native_enum=False,
            length=16,
            values_callable=lambda statuses: [s.value for s in statuses],
        ),
        default=EventStatus.DRAFT,
    )
    venue_name: Mapped[str | None] = mapped_column(String(200))
    venue_address: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(120))
    country: Mapped[str | None] = mapped_column(String(2))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    online_url: Mapped[str | None] = mapped_column(String(2048))
    published_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    # Seats shared by all ticket types (a venue holds 500 whatever the mix); None: only the
    # ticket types' own quantities limit sales. ``sold``/``held`` count seats across all ticket
    # types and change only through conditional UPDATEs, like the ticket types' counters.
    capacity: Mapped[int | None]
    sold: Mapped[int] = mapped_column(default=0, server_default="0")
    held: Mapped[int] = mapped_column(default=0, server_default="0")
    # Bumped on every change; part of cache keys and ETags.
    version: Mapped[int] = mapped_column(default=1)


# Listings filter by city case-insensitively.
Index(
    "ix_events_status_lower_city_starts_at", Event.status, func.lower(Event.city), Event.starts_at
)
