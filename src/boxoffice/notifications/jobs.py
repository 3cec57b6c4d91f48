"""The jobs that send e-mail. Each reads what it needs from the primary (the change that
caused it has just committed there), builds the message and sends it through
:mod:`boxoffice.notifications.delivery`, which records it so it is sent once."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from boxoffice.core.timestamps import utcnow
from boxoffice.events.models import Event, EventStatus
from boxoffice.jobs import outbox
from boxoffice.jobs.context import JobContext
from boxoffice.jobs.registry import Queue, job
from boxoffice.notifications import compose, facts
from boxoffice.notifications.delivery import MARK_EVERY, Outgoing, send
from boxoffice.notifications.notices import (
    EVENT_CANCELLED,
    EVENT_CHANGED,
    EVENT_REMINDER,
    NOTICE_KINDS,
    announce,
)
from boxoffice.observability.logging import get_logger
from boxoffice.ticketing.models import Order, OrderStatus, PaymentStatus, TicketType

_log = get_logger("boxoffice.mail")

# Holders per fan-out batch: one SMTP connection and one claim statement each.
FAN_OUT_BATCH = 200


# ------------------------------------------------------------------------------ orders


@job("mail.order_confirmation", queue=Queue.CRITICAL, max_retries=12)
async def order_confirmation(ctx: JobContext, order_id: str) -> None:
    async with ctx.database.primary_read_sessions() as session:
        order = await facts.load_order(session, uuid.UUID(order_id), settings=ctx.settings)
    if order is None or order.status != OrderStatus.CONFIRMED.value:
        _log.info("order not confirmed (any more): no confirmation", order_id=order_id)
        return
    key = f"order-confirmed:{order_id}"
    await send(
        ctx,
        [
            Outgoing(
                key,
                "order_confirmation",
                order.buyer_email,
                lambda message_id: compose.order_confirmation(
                    order, key=key, message_id=message_id, settings=ctx.settings
                ),
            )
        ],
    )


@job("mail.order_cancelled", queue=Queue.DEFAULT)
async def order_cancelled(ctx: JobContext, order_id: str) -> None:
    async with ctx.database.primary_read_sessions() as session:
        order = await facts.load_order(session, uuid.UUID(order_id), settings=ctx.settings)
    if order is None:
        return
    refunded = order.total_amount if order.payment_status == PaymentStatus.REFUNDED else None
    key = f"order-cancelled:{order_id}"
    await send(
        ctx,
        [
            Outgoing(
                key,
                "order_cancelled",
                order.buyer_email,
                lambda message_id: compose.order_cancelled(
                    order,
                    refunded_amount=refunded,
                    key=key,
                    message_id=message_id,
                    settings=ctx.settings,
                ),
            )
        ],
    )


@job("notify.organizer_sales", queue=Queue.DEFAULT)
async def organizer_sales(ctx: JobContext, order_id: str) -> None:
    """After a confirmation: the organizer hears of the event's first sale, and of a ticket
    type or the whole event selling out (each once)."""
    async with ctx.database.primary_read_sessions() as session:
        order = await facts.load_order(session, uuid.UUID(order_id), settings=ctx.settings)
        if order is None:
            return
        event_id = order.event.id
        first = await session.scalar(
            select(Order.id)
            .where(Order.event_id == event_id, Order.confirmed_at.is_not(None))
            .order_by(Order.confirmed_at, Order.id)
            .limit(1)
        )
        event_row = await session.get(Event, event_id)
        types = list(
            await session.scalars(select(TicketType).where(TicketType.event_id == event_id))
        )
        if event_row is None:
            return
        recipients = await facts.load_organizer_recipients(session, event_row.organization_id)
    outgoing: list[Outgoing] = []
    for recipient in recipients:
        if first == order.id:
            key = f"first-sale:{event_id}:{recipient.email}"
            outgoing.append(
                Outgoing(
                    key,
                    "organizer_first_sale",
                    recipient.email,
                    _bind(
                        compose.organizer_first_sale,
                        order.event,
                        recipient,
                        order=order,
                        key=key,
                        settings=ctx.settings,
                    ),
                )
            )
        for sold_out in _sold_out_names(event_row, types):
            key = f"sold-out:{event_id}:{sold_out or 'event'}:{recipient.email}"
            outgoing.append(
                Outgoing(
                    key,
                    "organizer_sold_out",
                    recipient.email,
                    _bind(
                        compose.organizer_sold_out,
                        order.event,
                        recipient,
                        ticket_type_name=sold_out,
                        key=key,
                        settings=ctx.settings,
                    ),
                )
            )
    await send(ctx, outgoing)


def _sold_out_names(event: Event, types: list[TicketType]) -> list[str | None]:
    """Ticket types whose every seat is sold (holds don't count: they may lapse), then None
    when the whole event is."""
    names: list[str | None] = [t.name for t in types if t.quantity > 0 and t.sold >= t.quantity]
    whole = bool(types) and all(t.sold >= t.quantity for t in types)
    if event.capacity is not None and event.sold >= event.capacity:
        whole = True
    if whole:
        names.append(None)
    return names


def _bind(builder: Any, *args: Any, **kwargs: Any) -> Any:
    def build(message_id: str) -> Any:
        return builder(*args, message_id=message_id, **kwargs)

    return build


# ------------------------------------------------------------------------ waiting list


@job("mail.waitlist_offer", queue=Queue.CRITICAL)
async def waitlist_offer(ctx: JobContext, entry_id: str) -> None:
    async with ctx.database.primary_read_sessions() as session:
        offer = await facts.load_waitlist_offer(session, uuid.UUID(entry_id), settings=ctx.settings)
    if offer is None or offer.offer_expires_at <= utcnow():
        return
    key = f"waitlist-offer:{entry_id}:{offer.order_id}"
    await send(
        ctx,
        [
            Outgoing(
                key,
                "waitlist_offer",
                offer.user_email,
                _bind(compose.waitlist_offer, offer, key=key, settings=ctx.settings),
            )
        ],
    )


# ---------------------------------------------------------------------- password reset


@job("mail.password_reset", queue=Queue.CRITICAL)
async def password_reset(ctx: JobContext, reset_id: str) -> None:
    from boxoffice.accounts.models import PasswordReset, User  # noqa: PLC0415
    from boxoffice.accounts.password_reset import reset_token, reset_url  # noqa: PLC0415

    async with ctx.database.primary_read_sessions() as session:
        reset = await session.get(PasswordReset, uuid.UUID(reset_id))
        user = await session.get(User, reset.user_id) if reset is not None else None
    if reset is None or user is None or reset.used_at is not None:
        return
    if reset.expires_at <= utcnow():
        return
    url = reset_url(
        ctx.settings, reset_token(reset.id, user.password_hash, ctx.settings.secret_key)
    )
    key = f"password-reset:{reset_id}"
    await send(
        ctx,
        [
            Outgoing(
                key,
                "password_reset",
                user.email,
                _bind(
                    compose.password_reset,
                    name=user.name,
                    email=user.email,
                    reset_url=url,
                    expires_at=reset.expires_at,
                    key=key,
                    settings=ctx.settings,
                ),
            )
        ],
    )


# --------------------------------------------------------------- event-wide notices


@job("notify.fan_out", queue=Queue.DEFAULT, time_limit_ms=30 * 60_000)
async def fan_out(
    ctx: JobContext, kind: str, event_id: str, notice_key: str, details: dict[str, Any]
) -> None:
    """Split the event's holders into batches, one outbox row each, on the ``low`` queue. A
    re-run writes nothing twice: each batch's row is keyed by where it starts."""
    if kind not in NOTICE_KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    after: uuid.UUID | None = None
    batches = 0
    while True:
        async with ctx.database.primary_read_sessions() as session:
            holders = await facts.load_holders(
                session,
                uuid.UUID(event_id),
                after_user_id=after,
                limit=FAN_OUT_BATCH,
                include_event_cancelled=kind == EVENT_CANCELLED,
            )
        if not holders:
            break
        last = holders[-1].user_id
        async with ctx.database.write_sessions() as session, session.begin():
            await outbox.enqueue(
                session,
                "mail.event_notice_batch",
                {
                    "kind": kind,
                    "event_id": event_id,
                    "notice_key": notice_key,
                    "details": details,
                    "after_user_id": str(after) if after else None,
                    "last_user_id": str(last),
                },
                dedupe_key=f"{notice_key}:after:{after or 'start'}",
            )
        batches += 1
        after = last
        if len(holders) < FAN_OUT_BATCH:
            break
    _log.info("notice fanned out", kind=kind, event_id=event_id, batches=batches)


@job("mail.event_notice_batch", queue=Queue.LOW, time_limit_ms=10 * 60_000)
async def event_notice_batch(
    ctx: JobContext,
    kind: str,
    event_id: str,
    notice_key: str,
    details: dict[str, Any],
    after_user_id: str | None,
    last_user_id: str,
) -> None:
    event_uuid = uuid.UUID(event_id)
    last = uuid.UUID(last_user_id)
    async with ctx.database.primary_read_sessions() as session:
        event = await facts.load_event(session, event_uuid, settings=ctx.settings)
        holders = [
            holder
            for holder in await facts.load_holders(
                session,
                event_uuid,
                after_user_id=uuid.UUID(after_user_id) if after_user_id else None,
                limit=2 * FAN_OUT_BATCH,
                include_event_cancelled=kind == EVENT_CANCELLED,
            )
            if holder.user_id <= last
        ]
        paid = await _paid_holders(session, event_uuid, [h.user_id for h in holders])
    if event is None or not holders:
        return
    changes = _display_changes(details.get("changes", {}), event.timezone)
    outgoing: list[Outgoing] = []
    for holder in holders:
        key = f"{notice_key}:{holder.user_id}"
        if kind == EVENT_CANCELLED:
            build = _bind(
                compose.event_cancelled,
                event,
                holder,
                refund_on_its_way=holder.user_id in paid,
                key=key,
                settings=ctx.settings,
            )
        elif kind == EVENT_CHANGED:
            build = _bind(
                compose.event_changed,
                event,
                holder,
                changes=changes,
                key=key,
                settings=ctx.settings,
            )
        else:
            build = _bind(compose.event_reminder, event, holder, key=key, settings=ctx.settings)
        outgoing.append(Outgoing(key, kind, holder.email, build))
    sent = await send(ctx, outgoing, mark_every=MARK_EVERY)
    _log.info("notice batch sent", kind=kind, event_id=event_id, sent=sent, holders=len(holders))


async def _paid_holders(session: Any, event_id: uuid.UUID, user_ids: list[uuid.UUID]) -> set[Any]:
    if not user_ids:
        return set()
    rows = await session.scalars(
        select(Order.user_id).where(
            Order.event_id == event_id,
            Order.user_id.in_(user_ids),
            Order.total_amount > 0,
            # Refunded, or captured with the refund on its way (its job may not have run).
            Order.payment_status.in_((PaymentStatus.CAPTURED, PaymentStatus.REFUNDED)),
        )
    )
    return set(rows.all())


def _display_changes(changes: dict[str, list[Any]], timezone: str) -> dict[str, tuple[str, str]]:
    shown: dict[str, tuple[str, str]] = {}
    for field, (old, new) in changes.items():
        if field in ("starts_at", "ends_at"):
            shown[field] = (_local(old, timezone), _local(new, timezone))
        else:
            shown[field] = (str(old or "—"), str(new or "—"))
    return shown


def _local(value: str, timezone: str) -> str:
    moment = datetime.fromisoformat(value).astimezone(ZoneInfo(timezone))
    return f"{moment:%a} {moment.day} {moment:%b %Y, %H:%M} ({timezone})"


@job("notifications.event_reminders", queue=Queue.DEFAULT, max_retries=2)
async def event_reminders(ctx: JobContext) -> None:
    """Periodic: every published event starting within the reminder window gets its
    reminder fanned out once (per start time: a rescheduled event reminds again)."""
    now = utcnow()
    horizon = now + timedelta(hours=ctx.settings.reminder_hours_before)
    async with ctx.database.write_sessions() as session, session.begin():
        rows = (
            await session.execute(
                select(Event.id, Event.starts_at).where(
                    Event.status == EventStatus.PUBLISHED,
                    Event.starts_at > now,
                    Event.starts_at <= horizon,
                )
            )
        ).all()
        for event_id, starts_at in rows:
            await announce(
                session,
                kind=EVENT_REMINDER,
                event_id=event_id,
                notice_key=f"reminder:{event_id}:{starts_at:%Y%m%dT%H%M}",
            )
