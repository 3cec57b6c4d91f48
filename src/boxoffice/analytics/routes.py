"""/events/{id}/sales/daily: the organizer dashboard's sales chart."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from boxoffice.analytics import reports
from boxoffice.analytics.schemas import SalesDailyRead
from boxoffice.core.errors import ValidationFailed
from boxoffice.core.http import PRIVATE_NO_CACHE, conditional_json
from boxoffice.core.routing import API_PREFIX
from boxoffice.db.session import ReadSession
from boxoffice.events.access import EventAdmin

router = APIRouter(prefix=API_PREFIX, tags=["analytics"])

FirstDay = Annotated[
    date | None,
    Query(alias="from", description="First local day, included (YYYY-MM-DD)"),
]
LastDay = Annotated[date | None, Query(description="Last local day, included (YYYY-MM-DD)")]


@router.get(
    "/events/{event_id}/sales/daily",
    response_model=SalesDailyRead,
    summary="Tickets and money per local day and ticket type (admin+)",
    description=(
        "`day` is the calendar date in the event's `timezone`. Figures count what happened on "
        "that day: `sold`/`revenue` by confirmation, `cancelled`/`refunds` by the cancellation "
        "of a confirmed order, `checked_in` by check-in (tickets still valid). Money is in "
        "minor units of `currency`, net of promo discounts. Days without activity are left "
        "out. The figures are refreshed every few minutes; `refreshed_at` says when the last "
        "refresh started (null: never). Supports `If-None-Match`."
    ),
)
async def sales_daily(
    request: Request,
    access: EventAdmin,
    session: ReadSession,
    first: FirstDay = None,
    to: LastDay = None,
) -> Response:
    if first is not None and to is not None and to < first:
        raise ValidationFailed("to", "must not be before from")
    document = await reports.daily_sales(session, access.event, first=first, last=to)
    return conditional_json(request, document, cache_control=PRIVATE_NO_CACHE)
