"""Promo codes: a percentage or fixed discount on an event's orders, optionally limited to some
ticket types, a validity window and a number of uses.

``uses`` counts the live orders (pending or confirmed) that used a code. It changes only by
conditional UPDATE (``… WHERE uses < max_uses``), so a code is never used more than
``max_uses`` times whatever the concurrency; expired and cancelled orders give their use back.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.errors import ValidationFailed
from boxoffice.events.models import Event
from boxoffice.ticketing.errors import PromoCodeTaken
from boxoffice.ticketing.inventory import UNGUARDED_RACE_WINDOW_SECONDS
from boxoffice.ticketing.models import PromoCode, TicketType

FIELD = "promo_code"


class PromoCodeUsedUp(ValidationFailed):
    def __init__(self) -> None:
        super().__init__(FIELD, "this code has been used the maximum number of times")


def normalize(code: str) -> str:
    return code.strip().upper()


async def create(
    session: AsyncSession, *, event: Event, fields: dict[str, Any], now: datetime
) -> PromoCode:
    ticket_type_ids = fields.get("ticket_type_ids")
    if ticket_type_ids is not None:
        wanted = {uuid.UUID(str(value)) for value in ticket_type_ids}
        found = set(
            await session.scalars(
                select(TicketType.id).where(
                    TicketType.id.in_(wanted), TicketType.event_id == event.id
                )
            )
        )
        if wanted - found:
            raise ValidationFailed(
                "ticket_type_ids", "every id must be a ticket type of this event"
            )
        fields["ticket_type_ids"] = sorted(str(value) for value in wanted)
    start, end = fields.get("valid_from"), fields.get("valid_until")
    if start is not None and end is not None and end <= start:
        raise ValidationFailed("valid_until", "must be after valid_from")
    promo = PromoCode(
        event_id=event.id,
        code=normalize(fields.pop("code")),
        created_at=now,
        updated_at=now,
        **fields,
    )
    try:
        async with session.begin_nested():
            session.add(promo)
            await session.flush()
    except IntegrityError:
        raise PromoCodeTaken(f"the event already has the code {promo.code}") from None
    return promo


async def list_for_event(session: AsyncSession, event_id: uuid.UUID) -> list[PromoCode]:
    return list(
        await session.scalars(
            select(PromoCode)
            .where(PromoCode.event_id == event_id)
            .order_by(PromoCode.created_at, PromoCode.id)
        )
    )


async def resolve(
    session: AsyncSession, *, event_id: uuid.UUID, code: str, now: datetime
) -> PromoCode:
    """The event's code, valid now and not used up, or a 422 naming ``promo_code``."""
    promo = await session.scalar(
        select(PromoCode).where(PromoCode.event_id == event_id, PromoCode.code == normalize(code))
    )
    if promo is None:
        raise ValidationFailed(FIELD, "unknown code for this event")
    if promo.valid_from is not None and now < promo.valid_from:
        raise ValidationFailed(FIELD, "this code is not valid yet")
    if promo.valid_until is not None and now >= promo.valid_until:
        raise ValidationFailed(FIELD, "this code has expired")
    if promo.max_uses is not None and promo.uses >= promo.max_uses:
        raise PromoCodeUsedUp()
    return promo


def discounts(promo: PromoCode, line_totals: dict[uuid.UUID, int]) -> dict[uuid.UUID, int]:
    """The discount per ticket type; 422 when the code applies to none of them."""
    eligible = {
        ticket_type_id: amount
        for ticket_type_id, amount in line_totals.items()
        if promo.ticket_type_ids is None or str(ticket_type_id) in promo.ticket_type_ids
    }
    if not eligible:
        raise ValidationFailed(FIELD, "this code does not apply to these ticket types")
    if promo.percent_off is not None:
        # Rounded down per line: the buyer never gets more than the stated percentage.
        return {
            ticket_type_id: amount * promo.percent_off // 100
            for ticket_type_id, amount in eligible.items()
        }
    remaining = promo.amount_off or 0
    result: dict[uuid.UUID, int] = {}
    for ticket_type_id, amount in sorted(eligible.items()):
        result[ticket_type_id] = min(amount, remaining)
        remaining -= result[ticket_type_id]
    return result


async def use(session: AsyncSession, promo: PromoCode, *, guarded: bool = True) -> None:
    if guarded:
        await use_by_id(session, promo.id)
        return
    # Test-only negative control: read-then-write, which over-uses under concurrency.
    uses = await session.scalar(select(PromoCode.uses).where(PromoCode.id == promo.id))
    if promo.max_uses is not None and (uses or 0) >= promo.max_uses:
        raise PromoCodeUsedUp()
    await asyncio.sleep(UNGUARDED_RACE_WINDOW_SECONDS)
    await session.execute(
        update(PromoCode)
        .where(PromoCode.id == promo.id)
        .values(uses=(uses or 0) + 1)
        .execution_options(synchronize_session=False)
    )


async def use_by_id(session: AsyncSession, promo_code_id: uuid.UUID) -> None:
    result = await session.execute(
        update(PromoCode)
        .where(
            PromoCode.id == promo_code_id,
            PromoCode.max_uses.is_(None) | (PromoCode.uses < PromoCode.max_uses),
        )
        .values(uses=PromoCode.uses + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise PromoCodeUsedUp()


async def give_back(session: AsyncSession, promo_code_id: uuid.UUID, count: int = 1) -> None:
    await session.execute(
        update(PromoCode)
        .where(PromoCode.id == promo_code_id)
        .values(uses=PromoCode.uses - count)
        .execution_options(synchronize_session=False)
    )


async def code_of(session: AsyncSession, promo_code_id: uuid.UUID | None) -> str | None:
    if promo_code_id is None:
        return None
    code: str | None = await session.scalar(
        select(PromoCode.code).where(PromoCode.id == promo_code_id)
    )
    return code


def promo_document(promo: PromoCode) -> dict[str, Any]:
    return {
        "id": str(promo.id),
        "event_id": str(promo.event_id),
        "code": promo.code,
        "percent_off": promo.percent_off,
        "amount_off": promo.amount_off,
        "ticket_type_ids": promo.ticket_type_ids,
        "valid_from": promo.valid_from,
        "valid_until": promo.valid_until,
        "max_uses": promo.max_uses,
        "uses": promo.uses,
        "created_at": promo.created_at,
    }
