from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.core.timestamps import utcnow
from boxoffice.db.base import Base, IdMixin


class OutboxMessage(IdMixin, Base):
    """One side effect, written in the same transaction as the change that causes it.

    The relay hands a row to the broker when ``due_at`` has passed and moves ``due_at`` a lease
    ahead; the worker sets ``completed_at`` when the job has run (or has gone to the dead
    letters). A row whose lease ran out without completion (a broker that lost it, a relay that
    died after enqueueing) is simply handed over again: delivery is at least once.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index(
            "ix_outbox_messages_pending",
            "due_at",
            postgresql_where=text("completed_at IS NULL"),
            sqlite_where=text("completed_at IS NULL"),
        ),
    )

    job: Mapped[str] = mapped_column(String(100))
    queue: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Makes a side effect that may be written twice (a fan-out re-run) one row.
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatch_count: Mapped[int] = mapped_column(default=0)
    dispatched_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class DeadJob(IdMixin, Base):
    """A job that failed all its retries: kept with its error until an admin requeues or
    purges it."""

    __tablename__ = "dead_jobs"

    outbox_id: Mapped[uuid.UUID | None]
    job: Mapped[str] = mapped_column(String(100))
    queue: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))
    retries: Mapped[int]
    error: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    requeued_at: Mapped[datetime | None]
    requeued_as: Mapped[uuid.UUID | None]


class SchedulerLease(Base):
    """Who is the active scheduler, until when."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]


class PeriodicRun(Base):
    """One firing of one periodic job for one period: the primary key makes a double fire
    impossible, whatever the schedulers believe about their lease."""

    __tablename__ = "periodic_runs"

    job: Mapped[str] = mapped_column(String(100), primary_key=True)
    slot: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    fired_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    holder: Mapped[str] = mapped_column(String(64))
