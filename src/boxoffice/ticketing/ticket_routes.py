"""Tickets: the caller's own tickets and orders, one ticket (JSON, QR code, PDF), check-in at
the door (one scan or an offline batch), the door list, and the organizer's attendee and sales
views.

Route order matters: ``/tickets/{ticket_id}.pdf`` is declared before ``/tickets/{ticket_id}``,
whose ``{ticket_id}`` would otherwise match ``<id>.pdf`` too.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from sqlalchemy import select
from starlette.responses import Response

from boxoffice.accounts.auth import SignedIn
from boxoffice.core.http import PRIVATE_NO_CACHE, conditional_json
from boxoffice.core.json import JSONBytesResponse
from boxoffice.core.pagination import Page, PageOf, decode_key, encode_key, page_envelope
from boxoffice.core.routing import API_PREFIX
from boxoffice.core.state import AppSettings
from boxoffice.core.timestamps import parse_aware_iso, utcnow
from boxoffice.db.session import WriteSession
from boxoffice.events.access import EventAdmin, EventStaff
from boxoffice.ticketing import checkin, orders, reports
from boxoffice.ticketing.access import TicketHolderOrStaff
from boxoffice.ticketing.models import Order, OrderStatus, TicketStatus
from boxoffice.ticketing.rendering import qr_svg, ticket_pdf
from boxoffice.ticketing.schemas import (
    AttendeeRead,
    CheckInBatchCreate,
    CheckInBatchRead,
    CheckInCreate,
    CheckInListRead,
    CheckInRead,
    HeldTicketRead,
    OrderRead,
    SalesReportRead,
)

router = APIRouter(prefix=API_PREFIX, tags=["tickets"])

# A ticket's code is its admission: never kept by a shared cache, nor by the browser's.
NO_STORE = "private, no-store"

TicketStatusFilter = Annotated[
    TicketStatus | None, Query(description="Only tickets in this status")
]
OrderStatusFilter = Annotated[OrderStatus | None, Query(description="Only orders in this status")]


# ---------------------------------------------------------------------------------- the caller's


@router.get(
    "/me/tickets",
    response_model=PageOf[HeldTicketRead],
    summary="My tickets, newest first, with their event",
)
async def my_tickets(
    claims: SignedIn, session: WriteSession, page: Page, status: TicketStatusFilter = None
) -> Response:
    after = decode_key(page.cursor, [parse_aware_iso, uuid.UUID])
    held, next_key = await checkin.tickets_of_holder(
        session,
        claims.user_id,
        after=after,
        limit=page.limit,
        status=status,
    )
    items = [checkin.held_ticket_document(ticket) for ticket in held]
    next_cursor = encode_key(next_key) if next_key else None
    return JSONBytesResponse(page_envelope(items, next_cursor), headers={"Cache-Control": NO_STORE})


@router.get(
    "/me/orders",
    response_model=PageOf[OrderRead],
    summary="My orders, newest first",
)
async def my_orders(
    claims: SignedIn, session: WriteSession, page: Page, status: OrderStatusFilter = None
) -> Response:
    # Read from the primary: a buyer looks here right after buying (read-your-writes).
    query = select(Order).where(Order.user_id == claims.user_id)
    if status is not None:
        query = query.where(Order.status == status)
    items, next_cursor = await orders.newest_first_page(session, query, page)
    return JSONBytesResponse(page_envelope(items, next_cursor), headers={"Cache-Control": NO_STORE})


# ---------------------------------------------------------------------------------- one ticket

_NOT_FOUND_OR_VOID: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such ticket visible to the caller, or it is void"}
}


@router.get(
    "/tickets/{ticket_id}.pdf",
    response_class=Response,
    summary="The printable ticket, one A4 page (holder or staff+); void tickets: 404",
    responses={
        200: {
            "description": "The ticket as a PDF document",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        },
        **_NOT_FOUND_OR_VOID,
    },
)
async def ticket_as_pdf(access: TicketHolderOrStaff, session: WriteSession) -> Response:
    checkin.require_valid(access.ticket)
    printable = await checkin.printable(session, access.ticket, access.event)
    # Rendering takes tens of milliseconds of CPU: keep it off the event loop.
    body = await asyncio.to_thread(ticket_pdf, printable)
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="ticket-{access.ticket.id}.pdf"',
            "Cache-Control": NO_STORE,
        },
    )


@router.get(
    "/tickets/{ticket_id}/qr.svg",
    response_class=Response,
    summary="The ticket's QR code (holder or staff+); void tickets: 404",
    responses={
        200: {
            "description": "The QR code of the ticket's code, as SVG",
            "content": {"image/svg+xml": {"schema": {"type": "string"}}},
        },
        **_NOT_FOUND_OR_VOID,
    },
)
async def ticket_qr(access: TicketHolderOrStaff) -> Response:
    checkin.require_valid(access.ticket)
    return Response(
        qr_svg(access.ticket.code),
        media_type="image/svg+xml",
        headers={"Cache-Control": NO_STORE},
    )


@router.get(
    "/tickets/{ticket_id}",
    response_model=HeldTicketRead,
    summary="One ticket (its holder, or staff+ of the organizing organization)",
)
async def get_ticket(access: TicketHolderOrStaff, session: WriteSession) -> Response:
    held = await checkin.held_ticket(session, access.ticket, access.event)
    return JSONBytesResponse(
        checkin.held_ticket_document(held), headers={"Cache-Control": NO_STORE}
    )


# ---------------------------------------------------------------------------------- the door


@router.post(
    "/events/{event_id}/check-ins",
    status_code=status.HTTP_201_CREATED,
    response_model=CheckInRead,
    summary="Check a ticket in by its code (staff+); each ticket gets in once",
    responses={
        404: {"description": "Unknown code, another event's code, or a void ticket"},
        409: {"description": "`already-checked-in`; `checked_in_at` gives the first check-in"},
    },
)
async def check_in(
    body: CheckInCreate, access: EventStaff, session: WriteSession, settings: AppSettings
) -> Response:
    admitted = await checkin.check_in(
        session,
        event_id=access.event.id,
        code=body.code,
        by=access.membership.user_id,
        now=utcnow(),
        guarded=not settings.unsafe_inventory_for_tests,
    )
    return JSONBytesResponse(checkin.check_in_document(admitted), status_code=201)


@router.post(
    "/events/{event_id}/check-ins/batch",
    response_model=CheckInBatchRead,
    summary="Upload offline scans (staff+): per ticket the earliest scan wins",
    description=(
        "Each scan is `{code, scanned_at}`; at most 5000 per request. Per ticket, the earliest "
        "scan is its check-in: a scan earlier than the stored check-in replaces it and is "
        "`accepted`; every other scan of a known ticket (including a later scan of the same "
        "ticket in this batch) is a `duplicate` reporting the ticket's check-in time. Codes "
        "that name no valid ticket of this event are listed once in `unknown`. A `scanned_at` "
        "more than five minutes ahead of the server's clock is a 422."
    ),
)
async def check_in_batch(
    body: CheckInBatchCreate, access: EventStaff, session: WriteSession
) -> Response:
    scans = [checkin.Scan(scan.code, scan.scanned_at) for scan in body.scans]
    checkin.check_scan_times(scans, now=utcnow())
    result = await checkin.reconcile_scans(
        session, event_id=access.event.id, scans=scans, by=access.membership.user_id
    )
    return JSONBytesResponse(result.document())


@router.get(
    "/events/{event_id}/check-in-list",
    response_model=CheckInListRead,
    summary="Every ticket of the event, valid and void, for offline scanners (staff+)",
    description=(
        "Supports `If-None-Match` with the `ETag` of a previous answer (304 when nothing "
        "changed). There is no incremental `since` filter: tickets carry no modification "
        "time, and a check-in time says nothing about when it was recorded (offline batches "
        "record past scans), so a filter on it would silently miss changes."
    ),
)
async def check_in_list(request: Request, access: EventStaff, session: WriteSession) -> Response:
    items = await checkin.check_in_list(session, access.event.id)
    return conditional_json(request, {"data": items}, cache_control=PRIVATE_NO_CACHE)


# ---------------------------------------------------------------------------------- organizer


@router.get(
    "/events/{event_id}/attendees",
    response_model=PageOf[AttendeeRead],
    summary="The event's ticket holders by name, with buyer e-mail and check-in (admin+)",
)
async def list_attendees(
    access: EventAdmin, session: WriteSession, page: Page, status: TicketStatusFilter = None
) -> Response:
    after = decode_key(page.cursor, [str, uuid.UUID])
    attendees, next_key = await reports.attendees_page(
        session,
        access.event.id,
        after=after,
        limit=page.limit,
        status=status,
    )
    items = [reports.attendee_document(attendee) for attendee in attendees]
    next_cursor = encode_key(next_key) if next_key else None
    return JSONBytesResponse(page_envelope(items, next_cursor), headers={"Cache-Control": NO_STORE})


@router.get(
    "/events/{event_id}/attendees.csv",
    response_class=Response,
    summary="All of the event's ticket holders as CSV (admin+)",
    responses={
        200: {
            "description": (
                "Header row, then one row per ticket. Text cells starting with = + - @ tab or "
                "carriage return are prefixed with ' so spreadsheets do not run them."
            ),
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
async def attendees_csv(
    access: EventAdmin, session: WriteSession, status: TicketStatusFilter = None
) -> Response:
    attendees = await reports.all_attendees(session, access.event.id, status=status)
    body = reports.attendees_csv(attendees)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="attendees-{access.event.id}.csv"',
            "Cache-Control": NO_STORE,
        },
    )


@router.get(
    "/events/{event_id}/sales",
    response_model=SalesReportRead,
    summary="Seats and revenue per ticket type and for the event (admin+)",
)
async def sales(access: EventAdmin, session: WriteSession) -> Response:
    report = await reports.sales_report(session, access.event)
    report["generated_at"] = utcnow()
    return JSONBytesResponse(report, headers={"Cache-Control": PRIVATE_NO_CACHE})
