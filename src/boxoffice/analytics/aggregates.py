"""Refreshing the daily sales aggregate (``event_sales_daily``) from orders and tickets.

An event's cells are recomputed whole, by three aggregate queries over its orders and tickets
grouped by ticket type and *UTC quarter-hour*; the quarter-hours are then folded into local
days in Python with the event's time zone (``zoneinfo``), so the SQL is the same plain
``GROUP BY`` on SQLite and PostgreSQL and no order row is ever loaded. Every time zone in use
today is offset from UTC by whole quarter-hours, and changes offset on a quarter-hour, so a
quarter-hour never straddles a local midnight.

The recomputed cells are compared with the stored ones and only the differences are written
(inserted, updated, deleted): a refresh that finds nothing new writes nothing, and running it
twice gives the same table.

Which events are recomputed:

* ``since=None`` — all of them (a full rebuild);
* otherwise the events with an order changed after ``since`` (``orders.updated_at``: placed,
  paid, cancelled, expired), a ticket checked in after ``since``, an event row changed after
  ``since`` (its time zone may have moved every day), and every event *at the door* now
  (starting within a day, or ended less than three days ago). The last rule is for offline
  scanners: an uploaded scan keeps the time it was made, which may be long before ``since``,
  and tickets record no modification time. A scan uploaded after that window is counted by
  the next full rebuild (``analytics.refresh_aggregates`` with ``{"full": true}``).

The caller passes ``since`` with a margin (:data:`LOOKBACK`) before the previous refresh: a
change is stamped when it is made but seen only once its transaction commits.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import astuple, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    CompoundSelect,
    Select,
    bindparam,
    delete,
    func,
    insert,
    select,
    union,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from boxoffice.analytics.models import AnalyticsState, EventSalesDaily
from boxoffice.events.models import Event, EventStatus
from boxoffice.ticketing.models import Order, OrderItem, OrderStatus, Ticket, TicketStatus

STATE_NAME = "event_sales_daily"
BUCKET_SECONDS = 15 * 60
# How far before the previous refresh an incremental refresh looks again.
LOOKBACK = timedelta(minutes=10)
# Events per round of aggregate queries.
CHUNK = 200
# "At the door": starts within LIVE_AHEAD, or ended less than LIVE_AFTER ago. LONGEST_EVENT
# bounds the scan on starts_at so that the (status, starts_at) index serves it.
LIVE_AHEAD = timedelta(days=1)
LIVE_AFTER = timedelta(days=3)
LONGEST_EVENT = timedelta(days=30)


# ---------------------------------------------------------------------------------- SQL


class quarter_hour(FunctionElement[int]):  # noqa: N801 - a SQL function, named like one
    """``floor(epoch seconds of a UTC timestamp / 900)``: the quarter-hour it falls in."""

    type = BigInteger()
    name = "quarter_hour"
    inherit_cache = True


@compiles(quarter_hour, "postgresql")
def _quarter_hour_postgresql(element: quarter_hour, compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {value}) / {BUCKET_SECONDS}) AS BIGINT)"


@compiles(quarter_hour, "sqlite")
def _quarter_hour_sqlite(element: quarter_hour, compiler: SQLCompiler, **kw: Any) -> str:
    # UTCDateTime stores naive UTC text, which strftime reads as UTC.
    value = compiler.process(element.clauses, **kw)
    return f"(CAST(strftime('%s', {value}) AS INTEGER) / {BUCKET_SECONDS})"


# ---------------------------------------------------------------------------------- figures


@dataclass(slots=True)
class Figures:
    sold: int = 0
    cancelled: int = 0
    revenue: int = 0
    refunds: int = 0
    checked_in: int = 0


Cell = tuple[uuid.UUID, date, uuid.UUID]  # event, local day, ticket type


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # events validate their zone; an unknown one must not stop us


class _Days:
    """Quarter-hour → local day of one zone, memoized (one event has few distinct ones)."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.seen: dict[int, date] = {}

    def __call__(self, bucket: int) -> date:
        day = self.seen.get(bucket)
        if day is None:
            moment = datetime.fromtimestamp(bucket * BUCKET_SECONDS, UTC)
            day = self.seen[bucket] = moment.astimezone(self.zone).date()
        return day


async def compute(session: AsyncSession, event_ids: list[uuid.UUID]) -> dict[Cell, Figures]:
    """The cells of these events as the orders and tickets say now."""
    days = {
        event_id: _Days(_zone(timezone))
        for event_id, timezone in await session.execute(
            select(Event.id, Event.timezone).where(Event.id.in_(event_ids))
        )
    }
    cells: dict[Cell, Figures] = {}

    def at(event_id: uuid.UUID, bucket: int, ticket_type_id: uuid.UUID) -> Figures:
        key = (event_id, days[event_id](int(bucket)), ticket_type_id)
        figures = cells.get(key)
        if figures is None:
            figures = cells[key] = Figures()
        return figures

    line_amount = OrderItem.unit_amount * OrderItem.quantity - OrderItem.discount_amount
    for event_id, ticket_type_id, bucket, seats, amount in await session.execute(
        _by_order_time(Order.confirmed_at, line_amount, event_ids)
    ):
        figures = at(event_id, bucket, ticket_type_id)
        figures.sold += int(seats)
        figures.revenue += int(amount)
    for event_id, ticket_type_id, bucket, seats, amount in await session.execute(
        _by_order_time(Order.cancelled_at, line_amount, event_ids).where(
            Order.status == OrderStatus.CANCELLED, Order.cancelled_at.is_not(None)
        )
    ):
        figures = at(event_id, bucket, ticket_type_id)
        figures.cancelled += int(seats)
        figures.refunds += int(amount)
    checked_in = quarter_hour(Ticket.checked_in_at)
    for event_id, ticket_type_id, bucket, admitted in await session.execute(
        select(Ticket.event_id, Ticket.ticket_type_id, checked_in, func.count())
        .where(
            Ticket.event_id.in_(event_ids),
            Ticket.status == TicketStatus.VALID,
            Ticket.checked_in_at.is_not(None),
        )
        .group_by(Ticket.event_id, Ticket.ticket_type_id, checked_in)
    ):
        at(event_id, bucket, ticket_type_id).checked_in += int(admitted)
    return cells


def _by_order_time(
    moment: InstrumentedAttribute[datetime | None],
    line_amount: ColumnElement[int],
    event_ids: list[uuid.UUID],
) -> Select[uuid.UUID, uuid.UUID, int, int, int]:
    """Seats and money of *confirmed* orders' lines per event, ticket type and quarter-hour of
    ``moment`` (confirmation or cancellation). Orders never confirmed never count."""
    bucket = quarter_hour(moment)
    return (
        select(
            Order.event_id,
            OrderItem.ticket_type_id,
            bucket,
            func.sum(OrderItem.quantity),
            func.sum(line_amount),
        )
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.event_id.in_(event_ids), Order.confirmed_at.is_not(None))
        .group_by(Order.event_id, OrderItem.ticket_type_id, bucket)
    )


async def stored(session: AsyncSession, event_ids: list[uuid.UUID]) -> dict[Cell, Figures]:
    rows = await session.execute(
        select(
            EventSalesDaily.event_id,
            EventSalesDaily.day,
            EventSalesDaily.ticket_type_id,
            EventSalesDaily.sold,
            EventSalesDaily.cancelled,
            EventSalesDaily.revenue,
            EventSalesDaily.refunds,
            EventSalesDaily.checked_in,
        ).where(EventSalesDaily.event_id.in_(event_ids))
    )
    return {(row[0], row[1], row[2]): Figures(*row[3:]) for row in rows}


# ---------------------------------------------------------------------------------- refresh


async def lock_state(session: AsyncSession) -> datetime | None:
    """Lock the aggregate's state row (creating it if need be) for the rest of the
    transaction, so refreshes run one at a time; returns when the last one started."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    await session.execute(
        dialect.insert(AnalyticsState)
        .values(name=STATE_NAME, refreshed_at=None)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    refreshed_at: datetime | None = await session.scalar(
        select(AnalyticsState.refreshed_at)
        .where(AnalyticsState.name == STATE_NAME)
        .with_for_update()
    )
    return refreshed_at


async def last_refreshed(session: AsyncSession) -> datetime | None:
    """When the last completed refresh started (None: never); takes no lock."""
    refreshed_at: datetime | None = await session.scalar(
        select(AnalyticsState.refreshed_at).where(AnalyticsState.name == STATE_NAME)
    )
    return refreshed_at


async def refresh(session: AsyncSession, *, since: datetime | None, now: datetime) -> int:
    """Bring ``event_sales_daily`` up to date: recompute the events changed after ``since``
    (every event when None) and write the cells that differ, stamped ``refreshed_at=now``.
    Records ``now`` as the aggregate's refresh time. Returns how many cells it wrote
    (inserted, updated or deleted). Never commits: the caller owns the transaction."""
    await lock_state(session)
    written = 0
    async for event_ids in _events_to_refresh(session, since=since, now=now):
        fresh = await compute(session, event_ids)
        written += await _write(session, fresh, await stored(session, event_ids), now=now)
    await session.execute(
        update(AnalyticsState)
        .where(AnalyticsState.name == STATE_NAME)
        .values(refreshed_at=now)
        .execution_options(synchronize_session=False)
    )
    return written


async def _events_to_refresh(
    session: AsyncSession, *, since: datetime | None, now: datetime
) -> AsyncIterator[list[uuid.UUID]]:
    """Chunks of the events to recompute (see the module's docstring)."""
    if since is None:
        after: uuid.UUID | None = None
        while True:
            query = select(Event.id).order_by(Event.id).limit(CHUNK)
            if after is not None:
                query = query.where(Event.id > after)
            chunk = list(await session.scalars(query))
            if chunk:
                yield chunk
            if len(chunk) < CHUNK:
                return
            after = chunk[-1]
    event_ids = sorted(set(await session.scalars(_changed_since(since, now=now))))
    for start in range(0, len(event_ids), CHUNK):
        yield event_ids[start : start + CHUNK]


def _changed_since(since: datetime, *, now: datetime) -> CompoundSelect[uuid.UUID]:
    return union(
        select(Order.event_id).where(Order.updated_at > since),  # ix_orders_updated_at
        select(Ticket.event_id).where(Ticket.checked_in_at > since),  # ix_tickets_checked_in_at
        # No index: events.updated_at moves with every seat held, so an index would cost
        # every sale; the events table is the smallest of the three.
        select(Event.id).where(Event.updated_at > since),
        select(Event.id).where(
            Event.status == EventStatus.PUBLISHED,
            Event.starts_at <= now + LIVE_AHEAD,
            Event.starts_at > now - LONGEST_EVENT,
            Event.ends_at > now - LIVE_AFTER,
        ),
    )


def _row(cell: Cell, figures: Figures, now: datetime) -> dict[str, Any]:
    event_id, day, ticket_type_id = cell
    return {
        "event_id": event_id,
        "day": day,
        "ticket_type_id": ticket_type_id,
        "sold": figures.sold,
        "cancelled": figures.cancelled,
        "revenue": figures.revenue,
        "refunds": figures.refunds,
        "checked_in": figures.checked_in,
        "refreshed_at": now,
    }


async def _write(
    session: AsyncSession,
    fresh: dict[Cell, Figures],
    old: dict[Cell, Figures],
    *,
    now: datetime,
) -> int:
    added = [_row(cell, figures, now) for cell, figures in fresh.items() if cell not in old]
    changed = [
        _row(cell, figures, now)
        for cell, figures in fresh.items()
        if cell in old and astuple(old[cell]) != astuple(figures)
    ]
    gone = [cell for cell in old if cell not in fresh]
    if added:
        await session.execute(insert(EventSalesDaily), added)
    if changed:
        await session.execute(update(EventSalesDaily), changed)
    if gone:
        await _delete(session, gone)
    return len(added) + len(changed) + len(gone)


async def _delete(session: AsyncSession, cells: Iterable[Cell]) -> None:
    # The ORM has no bulk DELETE by primary key: one Core statement, executed for many rows.
    connection = await session.connection()
    await connection.execute(
        delete(EventSalesDaily).where(
            EventSalesDaily.event_id == bindparam("cell_event_id"),
            EventSalesDaily.day == bindparam("cell_day"),
            EventSalesDaily.ticket_type_id == bindparam("cell_ticket_type_id"),
        ),
        [
            {"cell_event_id": event_id, "cell_day": day, "cell_ticket_type_id": ticket_type_id}
            for event_id, day, ticket_type_id in cells
        ],
    )
