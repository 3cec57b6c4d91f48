"""Tickets in their holder's hands and at the door.

Holder side: the caller's tickets and the printable ticket (PDF, QR code).

Door side: check-in. Admitting a ticket is ONE conditional statement

    UPDATE tickets SET checked_in_at = :now, checked_in_by = :user
    WHERE event_id = :event AND code = :code AND status = 'valid' AND checked_in_at IS NULL

so two scanners reading the same code at the same instant cannot both admit it: the row lock
makes the second UPDATE re-check ``checked_in_at IS NULL`` after the first commits, and it
changes nothing. Only when nothing changed is the ticket read, to tell "already checked in"
(409, with the first scan's time) from "no such valid ticket of this event" (404).

Offline scanners upload their scans later (:func:`reconcile_scans`): the *earliest* scan of a
ticket wins, again with one conditional UPDATE per ticket (``… AND (checked_in_at IS NULL OR
checked_in_at > :scanned_at)``). An uploaded scan that is earlier than the stored check-in
therefore replaces it — the ticket was at the door at that earlier time — and is reported as
accepted; every other scan of an admitted ticket is a duplicate.

``guarded=False`` (``Settings.unsafe_inventory_for_tests``) is the test-only negative control:
read, wait, write, so the concurrency test can show the double admission it must detect.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, Uuid, column, or_, select, tuple_, update, values
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.errors import ValidationFailed
from boxoffice.core.money import MINOR_UNITS
from boxoffice.core.timestamps import format_timestamp
from boxoffice.db.base import UTCDateTime
from boxoffice.events.models import Event
from boxoffice.organizations.models import Organization
from boxoffice.ticketing import tickets
from boxoffice.ticketing.errors import AlreadyCheckedIn, TicketNotFound
from boxoffice.ticketing.inventory import UNGUARDED_RACE_WINDOW_SECONDS
from boxoffice.ticketing.models import OrderItem, Ticket, TicketStatus, TicketType
from boxoffice.ticketing.rendering import PrintableTicket

# An offline scanner's clock may run a little ahead of ours; more than this is a broken clock.
CLOCK_SKEW = timedelta(minutes=5)
# Codes looked up per statement when reconciling a batch (well under every bind-parameter limit).
LOOKUP_CHUNK = 500
# Tickets per check-in UPDATE of a batch (two bind parameters each).
ADMIT_CHUNK = 1000


# ---------------------------------------------------------------------------------- holder


@dataclass(frozen=True, slots=True)
class HeldTicket:
    ticket: Ticket
    event_title: str
    event_starts_at: datetime
    event_ends_at: datetime
    event_timezone: str
    ticket_type_name: str


def held_ticket_document(held: HeldTicket) -> dict[str, Any]:
    return {
        **tickets.ticket_document(held.ticket),
        "event_title": held.event_title,
        "event_starts_at": held.event_starts_at,
        "event_ends_at": held.event_ends_at,
        "event_timezone": held.event_timezone,
        "ticket_type_name": held.ticket_type_name,
        "created_at": held.ticket.created_at,
    }


def _held_query() -> Select[Ticket, str, datetime, datetime, str, str]:
    return (
        select(
            Ticket,
            Event.title,
            Event.starts_at,
            Event.ends_at,
            Event.timezone,
            TicketType.name,
        )
        .join(Event, Event.id == Ticket.event_id)
        .join(TicketType, TicketType.id == Ticket.ticket_type_id)
    )


def _held(row: Row[Ticket, str, datetime, datetime, str, str]) -> HeldTicket:
    ticket, title, starts_at, ends_at, timezone, type_name = row
    return HeldTicket(ticket, title, starts_at, ends_at, timezone, type_name)


async def tickets_of_holder(
    session: AsyncSession,
    holder_id: uuid.UUID,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    status: TicketStatus | None = None,
) -> tuple[list[HeldTicket], tuple[datetime, uuid.UUID] | None]:
    """One page of the holder's tickets, newest first, and the key to continue after."""
    query = _held_query().where(Ticket.holder_id == holder_id)
    if status is not None:
        query = query.where(Ticket.status == status)
    if after is not None:
        query = query.where(tuple_(Ticket.created_at, Ticket.id) < tuple_(*after))
    rows = list(
        await session.execute(
            query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit + 1)
        )
    )
    held = [_held(row) for row in rows[:limit]]
    next_key = None
    if len(rows) > limit:
        last = held[-1].ticket
        next_key = (last.created_at, last.id)
    return held, next_key


async def held_ticket(session: AsyncSession, ticket: Ticket, event: Event) -> HeldTicket:
    name = await session.scalar(
        select(TicketType.name).where(TicketType.id == ticket.ticket_type_id)
    )
    return HeldTicket(
        ticket, event.title, event.starts_at, event.ends_at, event.timezone, name or ""
    )


def require_valid(ticket: Ticket) -> None:
    """A voided ticket (cancelled order or event) must not be printable or scannable: 404."""
    if ticket.status is not TicketStatus.VALID:
        raise TicketNotFound("the ticket is void")


def price_label(amount: int, currency: str) -> str:
    """``2500, "EUR"`` → ``"EUR 25.00"``; ``0`` → ``"Free"``; minor units per ISO 4217."""
    if amount == 0:
        return "Free"
    digits = MINOR_UNITS.get(currency, 2)
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 10**digits)
    if digits == 0:
        return f"{currency} {sign}{major}"
    return f"{currency} {sign}{major}.{minor:0{digits}d}"


def venue_line(event: Event) -> str | None:
    parts = [
        part.strip()
        for part in (event.venue_name, event.venue_address, event.city)
        if part and part.strip()
    ]
    return ", ".join(parts) or None


async def printable(session: AsyncSession, ticket: Ticket, event: Event) -> PrintableTicket:
    """Everything the PDF shows, read in two queries."""
    type_name, currency, list_price = (
        await session.execute(
            select(TicketType.name, TicketType.currency, TicketType.price_amount).where(
                TicketType.id == ticket.ticket_type_id
            )
        )
    ).one()
    # The face value the buyer was charged per ticket (before any order-wide promo code).
    unit_amount = await session.scalar(
        select(OrderItem.unit_amount).where(
            OrderItem.order_id == ticket.order_id,
            OrderItem.ticket_type_id == ticket.ticket_type_id,
        )
    )
    organizer = await session.scalar(
        select(Organization.name).where(Organization.id == event.organization_id)
    )
    return PrintableTicket(
        code=ticket.code,
        ticket_id=str(ticket.id),
        event_title=event.title,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        timezone=event.timezone,
        venue=venue_line(event),
        online_url=event.online_url,
        attendee_name=ticket.attendee_name,
        ticket_type_name=type_name,
        price_label=price_label(list_price if unit_amount is None else unit_amount, currency),
        order_id=str(ticket.order_id),
        organizer=organizer or "",
    )


# ---------------------------------------------------------------------------------- at the door


@dataclass(frozen=True, slots=True)
class CheckIn:
    ticket_id: uuid.UUID
    attendee_name: str
    ticket_type_id: uuid.UUID
    checked_in_at: datetime


def check_in_document(check_in: CheckIn) -> dict[str, Any]:
    return {
        "ticket_id": str(check_in.ticket_id),
        "attendee_name": check_in.attendee_name,
        "ticket_type_id": str(check_in.ticket_type_id),
        "checked_in_at": check_in.checked_in_at,
    }


def _already(ticket_id: uuid.UUID, attendee_name: str, checked_in_at: datetime) -> AlreadyCheckedIn:
    return AlreadyCheckedIn(
        f"this ticket was checked in at {format_timestamp(checked_in_at)}",
        ticket_id=str(ticket_id),
        attendee_name=attendee_name,
        checked_in_at=format_timestamp(checked_in_at),
    )


async def check_in(
    session: AsyncSession,
    *,
    event_id: uuid.UUID,
    code: str,
    by: uuid.UUID,
    now: datetime,
    guarded: bool = True,
) -> CheckIn:
    """Admit the valid ticket with ``code`` to the event, once.

    :class:`TicketNotFound` for an unknown code, another event's code or a void ticket;
    :class:`AlreadyCheckedIn` (with the first check-in's time) for a ticket used before.
    """
    if not guarded:
        return await _unguarded_check_in(session, event_id=event_id, code=code, by=by, now=now)
    row = (
        await session.execute(
            update(Ticket)
            .where(
                Ticket.event_id == event_id,
                Ticket.code == code,
                Ticket.status == TicketStatus.VALID,
                Ticket.checked_in_at.is_(None),
            )
            .values(checked_in_at=now, checked_in_by=by)
            .returning(Ticket.id, Ticket.attendee_name, Ticket.ticket_type_id)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if row is not None:
        ticket_id, attendee_name, ticket_type_id = row
        return CheckIn(ticket_id, attendee_name, ticket_type_id, now)
    # Nothing changed: say why. A check-in is never undone, so what we read now stays true.
    found = (
        await session.execute(
            select(Ticket.id, Ticket.attendee_name, Ticket.status, Ticket.checked_in_at).where(
                Ticket.event_id == event_id, Ticket.code == code
            )
        )
    ).first()
    if found is None or found.status is not TicketStatus.VALID or found.checked_in_at is None:
        raise TicketNotFound("no valid ticket of this event has this code")
    raise _already(found.id, found.attendee_name, found.checked_in_at)


async def _unguarded_check_in(
    session: AsyncSession, *, event_id: uuid.UUID, code: str, by: uuid.UUID, now: datetime
) -> CheckIn:
    """The negative control: read, decide in Python, write back. Racy by construction."""
    found = (
        await session.execute(
            select(
                Ticket.id,
                Ticket.attendee_name,
                Ticket.ticket_type_id,
                Ticket.status,
                Ticket.checked_in_at,
            ).where(Ticket.event_id == event_id, Ticket.code == code)
        )
    ).first()
    if found is None or found.status is not TicketStatus.VALID:
        raise TicketNotFound("no valid ticket of this event has this code")
    if found.checked_in_at is not None:
        raise _already(found.id, found.attendee_name, found.checked_in_at)
    await asyncio.sleep(UNGUARDED_RACE_WINDOW_SECONDS)
    await session.execute(
        update(Ticket)
        .where(Ticket.id == found.id)
        .values(checked_in_at=now, checked_in_by=by)
        .execution_options(synchronize_session=False)
    )
    return CheckIn(found.id, found.attendee_name, found.ticket_type_id, now)


# ---------------------------------------------------------------------------------- offline scans


@dataclass(frozen=True, slots=True)
class Scan:
    code: str
    scanned_at: datetime  # aware, UTC


@dataclass(slots=True)
class Reconciled:
    accepted: list[dict[str, Any]]
    duplicates: list[dict[str, Any]]
    unknown: list[str]

    def document(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "unknown": self.unknown}


def check_scan_times(scans: Sequence[Scan], *, now: datetime) -> None:
    latest = now + CLOCK_SKEW
    for index, scan in enumerate(scans):
        if scan.scanned_at > latest:
            raise ValidationFailed(
                f"scans[{index}].scanned_at",
                "is in the future; check the scanner's clock",
            )


@dataclass(slots=True)
class _Known:
    ticket_id: uuid.UUID
    valid: bool
    checked_in_at: datetime | None


async def _lookup(
    session: AsyncSession, event_id: uuid.UUID, codes: Iterable[str]
) -> dict[str, _Known]:
    wanted = list(codes)
    known: dict[str, _Known] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        rows = await session.execute(
            select(Ticket.code, Ticket.id, Ticket.status, Ticket.checked_in_at).where(
                Ticket.event_id == event_id, Ticket.code.in_(chunk)
            )
        )
        for code, ticket_id, status, checked_in_at in rows:
            known[code] = _Known(ticket_id, status is TicketStatus.VALID, checked_in_at)
    return known


async def _admit_earliest(
    session: AsyncSession,
    *,
    event_id: uuid.UUID,
    wanted: dict[uuid.UUID, datetime],
    by: uuid.UUID,
) -> set[uuid.UUID]:
    """Set each ticket's check-in to its time in ``wanted`` unless the ticket is void or was
    checked in at or before that time; the ids of the tickets changed.

    One conditional UPDATE per chunk of tickets, joined to the scan times — ``WITH scans(id,
    at) AS (VALUES …) UPDATE tickets SET checked_in_at = scans.at FROM scans WHERE tickets.id
    = scans.id AND … AND (checked_in_at IS NULL OR checked_in_at > scans.at)`` — so each row's
    check and write are one atomic step, as for a single scan (PostgreSQL re-checks the
    condition on a row another transaction changed meanwhile). Chunks go in ticket id order.
    """
    changed: set[uuid.UUID] = set()
    ordered = sorted(wanted)
    for start in range(0, len(ordered), ADMIT_CHUNK):
        chunk = ordered[start : start + ADMIT_CHUNK]
        scans = (
            values(column("id", Uuid()), column("at", UTCDateTime()), name="scans")
            .data([(ticket_id, wanted[ticket_id]) for ticket_id in chunk])
            .cte("scans")
        )
        changed.update(
            await session.scalars(
                update(Ticket)
                .add_cte(scans)
                .where(
                    Ticket.id == scans.c.id,
                    Ticket.event_id == event_id,
                    Ticket.status == TicketStatus.VALID,
                    or_(Ticket.checked_in_at.is_(None), Ticket.checked_in_at > scans.c.at),
                )
                .values(checked_in_at=scans.c.at, checked_in_by=by)
                .returning(Ticket.id)
                .execution_options(synchronize_session=False)
            )
        )
    return changed


async def reconcile_scans(
    session: AsyncSession, *, event_id: uuid.UUID, scans: Sequence[Scan], by: uuid.UUID
) -> Reconciled:
    """Apply offline scans: per ticket the earliest scan wins.

    * accepted — the scan that is now the ticket's check-in: the ticket was not checked in,
      or was checked in later than this scan (the stored time is replaced by the earlier one);
    * duplicates — every other scan of a known ticket, with the ticket's check-in time (a
      ticket scanned twice in one batch: the later scan is the duplicate);
    * unknown — codes that name no valid ticket of this event (unknown, another event's, void).

    Each list keeps the order of the scans; ``unknown`` names each code once.
    """
    earliest: dict[str, datetime] = {}
    for scan in scans:
        seen = earliest.get(scan.code)
        if seen is None or scan.scanned_at < seen:
            earliest[scan.code] = scan.scanned_at
    known = await _lookup(session, event_id, earliest)
    # A stored check-in only ever moves earlier, so one at or before the scan stays there:
    # only the others need the UPDATE (which re-checks, atomically, what this read saw).
    candidates = {
        ticket.ticket_id: earliest[code]
        for code, ticket in known.items()
        if ticket.valid and (ticket.checked_in_at is None or ticket.checked_in_at > earliest[code])
    }
    changed = await _admit_earliest(session, event_id=event_id, wanted=candidates, by=by)
    missed = [
        code
        for code, ticket in known.items()
        if ticket.ticket_id in candidates and ticket.ticket_id not in changed
    ]
    if missed:
        # Someone checked them in earlier (or voided them) since the lookup: read what won.
        known.update(await _lookup(session, event_id, missed))

    final: dict[str, datetime] = {}  # the check-in time of each known code, after this batch
    admitted: set[str] = set()
    unknown: set[str] = set()
    for code, at in earliest.items():
        ticket = known.get(code)
        if ticket is not None and ticket.ticket_id in changed:
            admitted.add(code)
            final[code] = at
        elif ticket is None or not ticket.valid or ticket.checked_in_at is None:
            unknown.add(code)
        else:
            final[code] = ticket.checked_in_at

    result = Reconciled([], [], [])
    reported: set[str] = set()
    for scan in scans:
        code = scan.code
        if code in unknown:
            if code not in reported:
                result.unknown.append(code)
                reported.add(code)
        elif code in admitted and code not in reported and scan.scanned_at == final[code]:
            result.accepted.append(
                {
                    "code": code,
                    "ticket_id": str(known[code].ticket_id),
                    "checked_in_at": final[code],
                }
            )
            reported.add(code)
        else:
            result.duplicates.append({"code": code, "checked_in_at": final[code]})
    return result


# ---------------------------------------------------------------------------------- door list


async def check_in_list(session: AsyncSession, event_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every ticket of the event, valid and void, for scanners that work offline."""
    rows = await session.execute(
        select(
            Ticket.id,
            Ticket.code,
            Ticket.attendee_name,
            Ticket.ticket_type_id,
            Ticket.status,
            Ticket.checked_in_at,
        )
        .where(Ticket.event_id == event_id)
        .order_by(Ticket.created_at, Ticket.id)
    )
    return [
        {
            "ticket_id": str(ticket_id),
            "code": code,
            "attendee_name": attendee_name,
            "ticket_type_id": str(ticket_type_id),
            "status": status.value,
            "checked_in_at": checked_in_at,
        }
        for ticket_id, code, attendee_name, ticket_type_id, status, checked_in_at in rows
    ]
