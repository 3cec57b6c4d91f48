"""Seat counters: taken, confirmed and given back only by conditional UPDATEs.

Each ticket type has ``quantity``/``sold``/``held``; its event has the same counters against an
optional shared ``capacity``. Taking seats is, per counter, one statement of the form

    UPDATE … SET held = held + :n WHERE id = :id AND sold + held + :n <= quantity

so the check and the write are one atomic step under any isolation level and any number of
processes (DESIGN.md invariant 1). Rows are always locked in one order — events by id, then
ticket types by id — so concurrent orders, releases and confirmations cannot deadlock.

``guarded=False`` is the test-only negative control (``BOXOFFICE_UNSAFE_INVENTORY_FOR_TESTS``):
read, check in Python, write back the read value plus n. Under concurrency that loses updates
and oversells, which is what the concurrency tests must be able to see.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.events.errors import EventCancelled
from boxoffice.events.models import Event, EventStatus
from boxoffice.ticketing.errors import SoldOut
from boxoffice.ticketing.models import TicketType

UNGUARDED_RACE_WINDOW_SECONDS = 0.005


@dataclass(frozen=True, slots=True)
class Seats:
    """``quantity`` seats of one ticket type of one event."""

    event_id: uuid.UUID
    ticket_type_id: uuid.UUID
    quantity: int


def _per_ticket_type(seats: Iterable[Seats]) -> list[tuple[uuid.UUID, int]]:
    totals: dict[uuid.UUID, int] = defaultdict(int)
    for item in seats:
        totals[item.ticket_type_id] += item.quantity
    return sorted(totals.items())


def _per_event(seats: Iterable[Seats]) -> list[tuple[uuid.UUID, int]]:
    totals: dict[uuid.UUID, int] = defaultdict(int)
    for item in seats:
        totals[item.event_id] += item.quantity
    return sorted(totals.items())


async def _remaining(session: AsyncSession, statement: Any) -> tuple[bool, int | None]:
    """Run an UPDATE … RETURNING <seats left>; (whether a row changed, the seats left)."""
    row = (await session.execute(statement.execution_options(synchronize_session=False))).first()
    return (False, None) if row is None else (True, row[0])


def _tt_left() -> ColumnElement[int]:
    return TicketType.quantity - TicketType.sold - TicketType.held


def _event_left() -> ColumnElement[int | None]:
    return Event.capacity - Event.sold - Event.held


async def take(
    session: AsyncSession, seats: list[Seats], *, as_sold: bool, guarded: bool = True
) -> bool:
    """Hold (or, for orders confirmed at once, sell) the seats, or raise :class:`SoldOut` naming
    the first ticket type — or the event capacity — that cannot supply them.

    Returns True when a ticket type or an event just sold out. On failure some counters may
    already have moved: the caller's transaction must roll back (the unit of work does).
    """
    column = "sold" if as_sold else "held"
    per_ticket_type, per_event = _per_ticket_type(seats), _per_event(seats)
    if (
        guarded
        and len(per_ticket_type) == 1
        and len(per_event) == 1
        and session.get_bind().dialect.name == "postgresql"
    ):
        return await _take_one_statement(session, per_ticket_type[0], per_event[0], column)
    if not guarded:
        await _unguarded_take(session, per_event, per_ticket_type, column)
        return False
    sold_out = False
    for event_id, n in per_event:
        if guarded:
            within = Event.capacity.is_(None) | (_event_left() >= n)
            # Selling also requires the event to be on sale at this instant: an event cancelled
            # after the buyer loaded it fails here, under the event's row lock.
            taken, left = await _remaining(
                session,
                update(Event)
                .where(Event.id == event_id, Event.status == EventStatus.PUBLISHED, within)
                .values({column: getattr(Event, column) + n})
                .returning(_event_left()),
            )
        else:  # pragma: no cover - handled above
            raise AssertionError
        if not taken:
            status = await session.scalar(select(Event.status).where(Event.id == event_id))
            if status is not EventStatus.PUBLISHED:
                raise EventCancelled("tickets of a cancelled event cannot be bought")
            raise SoldOut.for_event(event_id)
        sold_out = sold_out or left == 0
    for ticket_type_id, n in per_ticket_type:
        if guarded:
            taken, left = await _remaining(
                session,
                update(TicketType)
                .where(TicketType.id == ticket_type_id, _tt_left() >= n)
                .values({column: getattr(TicketType, column) + n})
                .returning(_tt_left()),
            )
        else:  # pragma: no cover - handled above
            raise AssertionError
        if not taken:
            raise SoldOut.for_ticket_type(ticket_type_id, await _left(session, ticket_type_id))
        sold_out = sold_out or left == 0
    return sold_out


# The event row is locked first (the global order: events, then ticket types); the ticket type
# is taken only if the locked event can supply the seats, and the event only if the ticket type
# was taken, so the statement either takes both counters or neither.
TAKE_ONE_TYPE_CTE = """
    locked_event AS (
        SELECT capacity - sold - held AS left_before FROM events
         WHERE id = :event_id AND status = 'published'
           FOR NO KEY UPDATE
    ), took_type AS (
        UPDATE ticket_types SET {column} = {column} + :n
         WHERE id = :ticket_type_id AND quantity - sold - held >= :n
           AND EXISTS (
               SELECT 1 FROM locked_event WHERE left_before IS NULL OR left_before >= :n
           )
        RETURNING quantity - sold - held AS left_after
    ), took_event AS (
        UPDATE events SET {column} = {column} + :n
         WHERE id = :event_id AND EXISTS (SELECT 1 FROM took_type)
        RETURNING capacity - sold - held AS left_after
    )"""
TAKE_ONE_TYPE_RESULT = """
    SELECT (SELECT left_after FROM took_type),
           EXISTS (SELECT 1 FROM took_event),
           (SELECT left_after FROM took_event),
           EXISTS (SELECT 1 FROM locked_event)"""


def take_one_type_sql(column: str) -> str:
    assert column in ("sold", "held")
    return TAKE_ONE_TYPE_CTE.format(column=column)


async def explain_take_failure(
    session: AsyncSession,
    ticket_type_id: uuid.UUID,
    event_id: uuid.UUID,
    *,
    wanted: int,
    on_sale: bool,
) -> Exception:
    """Why a one-statement take changed nothing: the event is not on sale, its capacity is
    reached, or the ticket type is sold out."""
    if not on_sale:
        return EventCancelled("tickets of a cancelled event cannot be bought")
    own = await session.scalar(select(_tt_left()).where(TicketType.id == ticket_type_id))
    if own is not None and own >= wanted:
        return SoldOut.for_event(event_id)
    return SoldOut.for_ticket_type(ticket_type_id, await _left(session, ticket_type_id))


async def _take_one_statement(
    session: AsyncSession,
    ticket_type_take: tuple[uuid.UUID, int],
    event_take: tuple[uuid.UUID, int],
    column: str,
) -> bool:
    """The common case (one ticket type) on PostgreSQL: both conditional UPDATEs in one
    statement, so the hot rows stay locked for one round trip fewer."""
    ticket_type_id, n = ticket_type_take
    event_id, total = event_take
    assert n == total  # one ticket type: the event takes the same seats
    sql = "WITH" + take_one_type_sql(column) + TAKE_ONE_TYPE_RESULT
    row = (
        await session.execute(
            text(sql), {"n": n, "ticket_type_id": ticket_type_id, "event_id": event_id}
        )
    ).one()
    type_left, event_took, event_left, on_sale = row
    if not event_took:
        raise await explain_take_failure(
            session, ticket_type_id, event_id, wanted=n, on_sale=on_sale
        )
    return bool(type_left == 0 or event_left == 0)


async def _unguarded_take(
    session: AsyncSession,
    per_event: list[tuple[uuid.UUID, int]],
    per_ticket_type: list[tuple[uuid.UUID, int]],
    column: str,
) -> None:
    """The negative control: read every counter, check in Python, wait as a slow request
    would, then write back what was read plus n — lost updates under concurrency."""
    events = {
        row_id: (sold, held, capacity)
        for row_id, sold, held, capacity in await session.execute(
            select(Event.id, Event.sold, Event.held, Event.capacity).where(
                Event.id.in_([event_id for event_id, _ in per_event])
            )
        )
    }
    types = {
        row_id: (sold, held, quantity)
        for row_id, sold, held, quantity in await session.execute(
            select(TicketType.id, TicketType.sold, TicketType.held, TicketType.quantity).where(
                TicketType.id.in_([ticket_type_id for ticket_type_id, _ in per_ticket_type])
            )
        )
    }
    for event_id, n in per_event:
        sold, held, capacity = events[event_id]
        if capacity is not None and sold + held + n > capacity:
            raise SoldOut.for_event(event_id)
    for ticket_type_id, n in per_ticket_type:
        sold, held, quantity = types[ticket_type_id]
        if sold + held + n > quantity:
            raise SoldOut.for_ticket_type(ticket_type_id, max(quantity - sold - held, 0))
    await asyncio.sleep(UNGUARDED_RACE_WINDOW_SECONDS)
    for model, counters, wanted in (
        (Event, events, per_event),
        (TicketType, types, per_ticket_type),
    ):
        for row_id, n in wanted:
            sold, held, _ = counters[row_id]
            current = sold if column == "sold" else held
            await session.execute(
                update(model)
                .where(model.id == row_id)
                .values({column: current + n})
                .execution_options(synchronize_session=False)
            )


async def _left(session: AsyncSession, ticket_type_id: uuid.UUID) -> int:
    seats = await available_seats(session, [ticket_type_id])
    return seats.get(ticket_type_id, 0)


async def release(session: AsyncSession, seats: list[Seats], *, from_sold: bool) -> bool:
    """Give seats back: held seats of a pending order, or sold seats of a cancelled one.
    Returns True when a sold-out ticket type or event has seats again."""
    column = "sold" if from_sold else "held"
    back = False
    for event_id, n in _per_event(seats):
        _, left = await _remaining(
            session,
            update(Event)
            .where(Event.id == event_id)
            .values({column: getattr(Event, column) - n})
            .returning(_event_left()),
        )
        back = back or left == n
    for ticket_type_id, n in _per_ticket_type(seats):
        _, left = await _remaining(
            session,
            update(TicketType)
            .where(TicketType.id == ticket_type_id)
            .values({column: getattr(TicketType, column) - n})
            .returning(_tt_left()),
        )
        back = back or left == n
    return back


async def sell_held(session: AsyncSession, seats: list[Seats]) -> None:
    """A paid order's held seats become sold (no availability check: they are already its)."""
    for event_id, n in _per_event(seats):
        await session.execute(
            update(Event)
            .where(Event.id == event_id)
            .values(held=Event.held - n, sold=Event.sold + n)
            .execution_options(synchronize_session=False)
        )
    for ticket_type_id, n in _per_ticket_type(seats):
        await session.execute(
            update(TicketType)
            .where(TicketType.id == ticket_type_id)
            .values(held=TicketType.held - n, sold=TicketType.sold + n)
            .execution_options(synchronize_session=False)
        )


async def available_seats(
    session: AsyncSession, ticket_type_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Exact seats left per ticket type: its own counters, capped by the event's capacity."""
    ids = list(ticket_type_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(
            TicketType.id,
            TicketType.quantity - TicketType.sold - TicketType.held,
            Event.capacity - Event.sold - Event.held,
        )
        .join(Event, Event.id == TicketType.event_id)
        .where(TicketType.id.in_(ids))
    )
    return {
        ticket_type_id: max(min(own, shared) if shared is not None else own, 0)
        for ticket_type_id, own, shared in rows
    }


def capped(ticket_type: TicketType, event: Event) -> int:
    """Seats left of a loaded ticket type given its loaded event (no query)."""
    own = ticket_type.quantity - ticket_type.sold - ticket_type.held
    if event.capacity is not None:
        own = min(own, event.capacity - event.sold - event.held)
    return max(own, 0)


def as_seats(event_id: uuid.UUID, quantities: Mapping[uuid.UUID, int]) -> list[Seats]:
    return [Seats(event_id, ticket_type_id, n) for ticket_type_id, n in quantities.items()]
