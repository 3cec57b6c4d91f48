"""Orders: seats held → paid and confirmed (tickets issued) → possibly cancelled; or expired.

Every change of an order's status is one conditional UPDATE ``… WHERE id = :id AND status =
:expected`` and the seat counters move only when that UPDATE changed the row. Two requests
racing over one order — a payment and the expiry sweep, two cancellations — therefore cannot
both act: a hold is released exactly once, and a paid order never loses its seats.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.errors import ValidationFailed
from boxoffice.core.pagination import PageParams, decode_key, encode_key
from boxoffice.core.timestamps import parse_aware_iso
from boxoffice.events.caching import public_event_changed
from boxoffice.events.errors import EventCancelled
from boxoffice.events.models import Event, EventStatus
from boxoffice.jobs import outbox
from boxoffice.notifications import notices
from boxoffice.payments.providers import (
    PaymentAttempt,
    PaymentOutcome,
    PaymentProvider,
    PaymentState,
)
from boxoffice.payments.registry import PaymentProviders
from boxoffice.search.indexer import index_event
from boxoffice.ticketing import express, inventory, promos, tickets, waitlist
from boxoffice.ticketing.errors import (
    OrderExpired,
    OrderNotCancellable,
    OrderNotPending,
    PaymentProviderUnavailable,
    SoldOut,
)
from boxoffice.ticketing.inventory import Seats
from boxoffice.ticketing.models import (
    Order,
    OrderItem,
    OrderStatus,
    PaymentStatus,
    PromoCode,
    Ticket,
    TicketType,
    WaitlistEntry,
    WaitlistStatus,
)
from boxoffice.ticketing.promos import PromoCodeUsedUp

MAX_ITEMS = 20


@dataclass(frozen=True, slots=True)
class Line:
    ticket_type_id: uuid.UUID
    quantity: int


@dataclass(slots=True)
class OrderView:
    order: Order
    items: list[OrderItem]
    tickets: list[Ticket]
    promo_code: str | None = None
    # The response body already stored under the request's Idempotency-Key (express path).
    stored_response: bytes | None = None


# ---------------------------------------------------------------------------------- creation


async def create_order(
    session: AsyncSession,
    *,
    event: Event,
    user_id: uuid.UUID,
    lines: list[Line],
    promo_code: str | None,
    now: datetime,
    hold: timedelta,
    offer_for: timedelta,
    guarded: bool = True,
    idempotency_record_id: uuid.UUID | None = None,
) -> OrderView:
    """Hold the seats of a new order (or sell them at once when it costs nothing).

    ``idempotency_record_id``: the request's claimed key, so the express path can store the
    response in the same statement as the order.
    """
    if event.status is EventStatus.CANCELLED:
        raise EventCancelled("tickets of a cancelled event cannot be bought")
    if event.ends_at <= now:
        raise ValidationFailed("event_id", "the event is over")
    ticket_types = await _ticket_types_for(session, event, lines)
    _check_lines(lines, ticket_types, now)

    subtotal = sum(ticket_types[line.ticket_type_id].price_amount * line.quantity for line in lines)
    promo = None
    discounts: dict[uuid.UUID, int] = {}
    if promo_code is not None:
        promo = await promos.resolve(session, event_id=event.id, code=promo_code, now=now)
        discounts = promos.discounts(
            promo,
            {
                line.ticket_type_id: ticket_types[line.ticket_type_id].price_amount * line.quantity
                for line in lines
            },
        )
    discount = sum(discounts.values())
    total = subtotal - discount
    free = total == 0
    seats = [Seats(event.id, line.ticket_type_id, line.quantity) for line in lines]

    short = [
        line
        for line in lines
        if inventory.capped(ticket_types[line.ticket_type_id], event) < line.quantity
    ]
    released = False
    if short:
        # Lazy release: only when this request's own read shows too few seats, so the hot path
        # of a flash sale pays nothing for it. Nothing is locked yet: releasing cannot deadlock.
        if not await release_expired(session, now=now, ticket_type_ids=list(ticket_types)):
            # Sold out as of this transaction's read, and no lapsed hold to take back: answer
            # without writing anything (most attempts of a flash sale end here).
            raise _sold_out(ticket_types[short[0].ticket_type_id], event, short[0].quantity)
        released = True
        # Seats that came back go to the waiting list first.
        await waitlist.offer_seats(
            session, ticket_type_ids=sorted(ticket_types), now=now, offer_for=offer_for
        )

    # The express path runs outside this transaction: only when this transaction holds no
    # row locks it would have to wait for (a lazy release takes some).
    if (
        guarded
        and not released
        and len(lines) == 1
        and promo is None
        and not free
        and express.eligible(session)
    ):
        line = lines[0]
        ticket_type = ticket_types[line.ticket_type_id]
        event_id = event.id
        arguments: dict[str, Any] = {
            "event_id": event_id,
            "user_id": user_id,
            "ticket_type_id": ticket_type.id,
            "quantity": line.quantity,
            "unit_amount": ticket_type.price_amount,
            "currency": ticket_type.currency,
        }
        # This transaction only read: end it, so the request never holds two pooled
        # connections at once (200 requests each waiting for a second one would starve the
        # pool). Its loaded objects are expired from here on; only the values above are used.
        await session.rollback()
        express_order, item, body, sold_out = await express.create(
            session,
            **arguments,
            now=now,
            hold=hold,
            idempotency_record_id=idempotency_record_id,
        )
        if sold_out:
            await index_event(session, event_id)
        public_event_changed(session, event_id)
        return OrderView(express_order, [item], [], None, stored_response=body)

    order = Order(
        id=uuid.uuid4(),
        event_id=event.id,
        user_id=user_id,
        status=OrderStatus.CONFIRMED if free else OrderStatus.PENDING,
        currency=next(iter(ticket_types.values())).currency,
        subtotal_amount=subtotal,
        discount_amount=discount,
        total_amount=total,
        promo_code_id=promo.id if promo else None,
        expires_at=now + hold,
        confirmed_at=now if free else None,
        payment_provider="free" if free else None,
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    items = [
        OrderItem(
            order_id=order.id,
            ticket_type_id=line.ticket_type_id,
            quantity=line.quantity,
            unit_amount=ticket_types[line.ticket_type_id].price_amount,
            discount_amount=discounts.get(line.ticket_type_id, 0),
        )
        for line in lines
    ]
    session.add_all(items)
    await session.flush()
    if promo is not None and not guarded:
        # The negative control reads and writes the code's uses before any row lock, where a
        # slow request would race; the guarded statement needs no such care.
        await promos.use(session, promo, guarded=False)
    # The hot rows are locked last, so they stay locked for as short a time as possible.
    await take_seats(session, seats, as_sold=free, guarded=guarded)
    if promo is not None and guarded:
        await promos.use(session, promo)
    issued: list[Ticket] = []
    if free:
        issued = await tickets.issue(session, order, items, now=now)
        await notices.order_confirmed(session, order.id)
    return OrderView(order, items, issued, promo.code if promo else None)


def _sold_out(ticket_type: TicketType, event: Event, wanted: int) -> SoldOut:
    own = ticket_type.quantity - ticket_type.sold - ticket_type.held
    if own < wanted:
        return SoldOut.for_ticket_type(ticket_type.id, max(own, 0))
    return SoldOut.for_event(event.id)


async def _ticket_types_for(
    session: AsyncSession, event: Event, lines: list[Line]
) -> dict[uuid.UUID, TicketType]:
    if not lines:
        raise ValidationFailed("items", "must list at least one ticket type")
    if len(lines) > MAX_ITEMS:
        raise ValidationFailed("items", f"at most {MAX_ITEMS} entries")
    seen: set[uuid.UUID] = set()
    for index, line in enumerate(lines):
        if line.ticket_type_id in seen:
            raise ValidationFailed(f"items[{index}].ticket_type_id", "listed twice")
        seen.add(line.ticket_type_id)
    rows = await session.scalars(
        select(TicketType).where(TicketType.id.in_(seen), TicketType.event_id == event.id)
    )
    found = {ticket_type.id: ticket_type for ticket_type in rows}
    for index, line in enumerate(lines):
        if line.ticket_type_id not in found:
            raise ValidationFailed(
                f"items[{index}].ticket_type_id", "is not a ticket type of this event"
            )
    return found


def _check_lines(
    lines: list[Line], ticket_types: dict[uuid.UUID, TicketType], now: datetime
) -> None:
    for index, line in enumerate(lines):
        ticket_type = ticket_types[line.ticket_type_id]
        if ticket_type.sales_start is not None and now < ticket_type.sales_start:
            raise ValidationFailed(
                f"items[{index}].ticket_type_id",
                f"sales open at {ticket_type.sales_start.isoformat()}",
            )
        if ticket_type.sales_end is not None and now >= ticket_type.sales_end:
            raise ValidationFailed(
                f"items[{index}].ticket_type_id",
                f"sales closed at {ticket_type.sales_end.isoformat()}",
            )
        if line.quantity > ticket_type.max_per_order:
            raise ValidationFailed(
                f"items[{index}].quantity",
                f"at most {ticket_type.max_per_order} of this ticket type per order",
            )


# ---------------------------------------------------------------------------------- reading


async def load_view(session: AsyncSession, order: Order) -> OrderView:
    items = list(
        await session.scalars(
            select(OrderItem).where(OrderItem.order_id == order.id).order_by(OrderItem.id)
        )
    )
    issued = list(
        await session.scalars(
            select(Ticket).where(Ticket.order_id == order.id).order_by(Ticket.created_at, Ticket.id)
        )
    )
    code = await promos.code_of(session, order.promo_code_id)
    return OrderView(order, items, issued, code)


async def load_views(session: AsyncSession, rows: list[Order]) -> list[OrderView]:
    """Views of a page of orders in three queries, whatever its size."""
    ids = [order.id for order in rows]
    items: dict[uuid.UUID, list[OrderItem]] = defaultdict(list)
    issued: dict[uuid.UUID, list[Ticket]] = defaultdict(list)
    codes: dict[uuid.UUID, str] = {}
    if ids:
        for item in await session.scalars(
            select(OrderItem).where(OrderItem.order_id.in_(ids)).order_by(OrderItem.id)
        ):
            items[item.order_id].append(item)
        for ticket in await session.scalars(
            select(Ticket).where(Ticket.order_id.in_(ids)).order_by(Ticket.created_at, Ticket.id)
        ):
            issued[ticket.order_id].append(ticket)
        promo_ids = {order.promo_code_id for order in rows if order.promo_code_id is not None}
        if promo_ids:
            codes = dict(
                (
                    await session.execute(
                        select(PromoCode.id, PromoCode.code).where(PromoCode.id.in_(promo_ids))
                    )
                ).all()  # a list of rows: dict(Result) would index it, as Result has keys()
            )
    return [
        OrderView(
            order,
            items[order.id],
            issued[order.id],
            codes.get(order.promo_code_id) if order.promo_code_id else None,
        )
        for order in rows
    ]


async def newest_first_page(
    session: AsyncSession, query: Select[Order], page: PageParams
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ``query``'s orders, newest first, as documents; and the next cursor."""
    after = decode_key(page.cursor, [parse_aware_iso, uuid.UUID])
    if after is not None:
        query = query.where(tuple_(Order.created_at, Order.id) < tuple_(*after))
    rows = list(
        await session.scalars(
            query.order_by(Order.created_at.desc(), Order.id.desc()).limit(page.limit + 1)
        )
    )
    next_cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        next_cursor = encode_key((rows[-1].created_at, rows[-1].id))
    return [order_document(view) for view in await load_views(session, rows)], next_cursor


def seats_of(order: Order, items: list[OrderItem]) -> list[Seats]:
    return [Seats(order.event_id, item.ticket_type_id, item.quantity) for item in items]


def order_document(view: OrderView) -> dict[str, Any]:
    order = view.order
    payment: dict[str, Any] = {
        "provider": order.payment_provider,
        "status": order.payment_status.value,
    }
    if order.payment_client_secret and order.status is OrderStatus.PENDING:
        payment["client_secret"] = order.payment_client_secret
    return {
        "id": str(order.id),
        "event_id": str(order.event_id),
        "status": order.status.value,
        "items": [
            {
                "ticket_type_id": str(item.ticket_type_id),
                "quantity": item.quantity,
                "unit_amount": item.unit_amount,
                "discount_amount": item.discount_amount,
            }
            for item in view.items
        ],
        "subtotal_amount": order.subtotal_amount,
        "discount_amount": order.discount_amount,
        "total_amount": order.total_amount,
        "currency": order.currency,
        "promo_code": view.promo_code,
        "expires_at": order.expires_at,
        "created_at": order.created_at,
        "confirmed_at": order.confirmed_at,
        "cancelled_at": order.cancelled_at,
        "cancel_reason": order.cancel_reason,
        "payment": payment,
        "tickets": [tickets.ticket_document(ticket) for ticket in view.tickets],
    }


# ---------------------------------------------------------------------------------- payment


async def _transition(
    session: AsyncSession,
    order: Order,
    *,
    expected: tuple[OrderStatus, ...],
    values: dict[str, Any],
    unexpired_at: datetime | None = None,
) -> bool:
    """Move the order out of one of the ``expected`` statuses; False if it was not in one."""
    conditions = [Order.id == order.id, Order.status.in_(expected)]
    if unexpired_at is not None:
        conditions.append(Order.expires_at > unexpired_at)
    result = await session.execute(
        update(Order)
        .where(*conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    changed = bool(result.rowcount == 1)  # type: ignore[attr-defined]
    await session.refresh(order)
    return changed


def _attempt(order: Order) -> PaymentAttempt:
    return PaymentAttempt(
        order_id=order.id,
        amount=order.total_amount,
        currency=order.currency,
        reference=order.payment_reference,
    )


def _not_payable(order: Order, now: datetime) -> Exception:
    if order.status is OrderStatus.EXPIRED or (
        order.status is OrderStatus.PENDING and order.expires_at <= now
    ):
        return OrderExpired(f"the hold expired at {order.expires_at.isoformat()}")
    return OrderNotPending(f"the order is {order.status.value}")


async def pay(
    session: AsyncSession,
    *,
    order: Order,
    provider: PaymentProvider,
    method: dict[str, Any],
    now: datetime,
) -> OrderView:
    """Pay a pending order with the provider; confirm it when the money is taken."""
    if order.status is not OrderStatus.PENDING or order.expires_at <= now:
        raise _not_payable(order, now)
    outcome = await provider.pay(_attempt(order), method)
    if outcome.state is PaymentState.REQUIRES_ACTION:
        order.payment_provider = provider.name
        order.payment_reference = outcome.reference
        order.payment_client_secret = outcome.client_secret
        order.payment_status = PaymentStatus.REQUIRES_PAYMENT
        order.updated_at = now
        await session.flush()
        return await load_view(session, order)
    confirmed = await confirm_paid(
        session, order=order, provider=provider, outcome=outcome, now=now, late=False
    )
    if not confirmed:
        # The hold lapsed (or the order was cancelled) while the card was being charged.
        await give_back(provider, order, outcome)
        raise _not_payable(order, now)
    return await load_view(session, order)


async def confirm_paid(
    session: AsyncSession,
    *,
    order: Order,
    provider: PaymentProvider,
    outcome: PaymentOutcome,
    now: datetime,
    late: bool,
) -> bool:
    """The money is captured (or authorized, for a late payment): confirm the order and issue
    its tickets. False — and the payment given back — when the order can no longer be had.

    ``late`` (a provider's asynchronous confirmation) also confirms an order whose hold lapsed,
    as long as its seats can still be taken.
    """
    items = await _items(session, order.id)
    seats = seats_of(order, items)
    values = {
        "status": OrderStatus.CONFIRMED,
        "confirmed_at": now,
        "updated_at": now,
        "payment_provider": provider.name,
        "payment_reference": outcome.reference,
        "payment_status": PaymentStatus.CAPTURED,
    }
    if await _transition(
        session,
        order,
        expected=(OrderStatus.PENDING,),
        values=values,
        unexpired_at=None if late else now,
    ):
        await inventory.sell_held(session, seats)
        _inventory_changed(session, seats)
    elif late and order.status is OrderStatus.EXPIRED:
        # The hold was released: the seats are the buyer's only if they are still free.
        try:
            async with session.begin_nested():
                # Fails with EventCancelled for a cancelled event: its orders must not come
                # back to life.
                await take_seats(session, seats, as_sold=True)
                if order.promo_code_id is not None:
                    await promos.use_by_id(session, order.promo_code_id)
                taken = await _transition(
                    session, order, expected=(OrderStatus.EXPIRED,), values=values
                )
                if not taken:
                    raise OrderNotPending()
        except (SoldOut, EventCancelled, PromoCodeUsedUp, OrderNotPending):
            await session.refresh(order)
            return False
    else:
        # Already confirmed by this very payment (a replayed confirmation) is success too.
        return (
            order.status is OrderStatus.CONFIRMED and order.payment_reference == outcome.reference
        )
    await tickets.issue(session, order, items, now=now)
    await waitlist.offer_claimed(session, order_id=order.id)
    await notices.order_confirmed(session, order.id)
    return True


async def give_back(provider: PaymentProvider, order: Order, outcome: PaymentOutcome) -> None:
    attempt = PaymentAttempt(order.id, order.total_amount, order.currency, outcome.reference)
    try:
        await provider.refund(attempt)
    except Exception as exc:
        raise PaymentProviderUnavailable("the payment could not be given back") from exc


async def _items(session: AsyncSession, order_id: uuid.UUID) -> list[OrderItem]:
    return list(
        await session.scalars(
            select(OrderItem).where(OrderItem.order_id == order_id).order_by(OrderItem.id)
        )
    )


# ---------------------------------------------------------------------------------- cancel


async def cancel(
    session: AsyncSession,
    *,
    order: Order,
    provider: PaymentProvider | None,
    now: datetime,
    reason: str,
    before: datetime | None,
    offer_for: timedelta | None,
    notify: bool = True,
    settle_later: bool = False,
) -> OrderView:
    """Cancel a pending or confirmed order: seats back, tickets void, money refunded.

    ``before``: buyers may cancel only until the event starts. ``notify``: e-mail the buyer
    (not when the event was cancelled: its one notice says the refund is on its way).
    ``settle_later``: refund or void the payment in a job (``payments.settle_cancelled_order``)
    instead of now: an event cancel must not make one provider call per order in a request.
    """
    if before is not None and now >= before:
        raise OrderNotCancellable("the event has started")
    previous = order.status
    if previous not in (OrderStatus.PENDING, OrderStatus.CONFIRMED):
        raise OrderNotCancellable(f"the order is {previous.value}")
    values: dict[str, Any] = {
        "status": OrderStatus.CANCELLED,
        "cancelled_at": now,
        "cancel_reason": reason[:200],
        "updated_at": now,
    }
    if not await _transition(session, order, expected=(previous,), values=values):
        raise OrderNotCancellable(f"the order is {order.status.value}")
    items = await _items(session, order.id)
    await release_seats(
        session, seats_of(order, items), from_sold=previous is OrderStatus.CONFIRMED
    )
    if order.promo_code_id is not None:
        await promos.give_back(session, order.promo_code_id)
    await tickets.void_for_order(session, order.id, now=now)
    await waitlist.order_ended(session, order_id=order.id)
    if settle_later:
        await outbox.enqueue(
            session, "payments.settle_cancelled_order", {"order_id": str(order.id)}
        )
    else:
        await refund_or_void(session, order, provider, now=now)
    if notify:
        await notices.order_cancelled(session, order.id)
    if offer_for is not None:
        await waitlist.offer_seats(
            session,
            ticket_type_ids=sorted({item.ticket_type_id for item in items}),
            now=now,
            offer_for=offer_for,
        )
    return await load_view(session, order)


async def refund_or_void(
    session: AsyncSession, order: Order, provider: PaymentProvider | None, *, now: datetime
) -> None:
    """Give a cancelled order's money back: refund a capture, void an authorization. Does
    nothing the second time (the payment status has moved on)."""
    status = order.payment_status
    if provider is None or order.payment_reference is None:
        return
    try:
        if status is PaymentStatus.CAPTURED and order.total_amount > 0:
            await provider.refund(_attempt(order))
            order.payment_status = PaymentStatus.REFUNDED
        elif status in (PaymentStatus.AUTHORIZED, PaymentStatus.REQUIRES_PAYMENT):
            await provider.void(_attempt(order))
            order.payment_status = PaymentStatus.VOIDED
    except Exception as exc:
        raise PaymentProviderUnavailable("the refund could not be made; try again") from exc
    order.updated_at = now
    await session.flush()


# Holders of a cancelled event are told by the event-cancelled notice (notifications/facts.py
# finds them by this reason).
EVENT_CANCELLED_REASON = "the event was cancelled"


async def cancel_open_orders(
    session: AsyncSession, *, event_id: uuid.UUID, payments: PaymentProviders, now: datetime
) -> int:
    """The event is cancelled: every pending or confirmed order is cancelled and its tickets
    voided; a job per order refunds its payment (or voids its authorization), with retries.
    Returns how many."""
    # Locked in id order before anything else, like every other writer of orders, so a
    # payment confirming one of them concurrently finishes first instead of deadlocking.
    open_orders = list(
        await session.scalars(
            select(Order)
            .where(
                Order.event_id == event_id,
                Order.status.in_((OrderStatus.PENDING, OrderStatus.CONFIRMED)),
            )
            .order_by(Order.id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )
    )
    for order in open_orders:
        await cancel(
            session,
            order=order,
            provider=payments.named(order.payment_provider),
            now=now,
            reason=EVENT_CANCELLED_REASON,
            before=None,
            offer_for=None,
            notify=False,
            settle_later=True,
        )
    await session.execute(
        update(WaitlistEntry)
        .where(
            WaitlistEntry.event_id == event_id,
            WaitlistEntry.status.in_((WaitlistStatus.WAITING, WaitlistStatus.OFFERED)),
        )
        .values(status=WaitlistStatus.EXPIRED)
        .execution_options(synchronize_session=False)
    )
    return len(open_orders)


# ---------------------------------------------------------------------------------- expiry


async def release_expired(
    session: AsyncSession,
    *,
    now: datetime,
    ticket_type_ids: list[uuid.UUID] | None = None,
    limit: int = 500,
) -> list[uuid.UUID]:
    """Expire pending orders whose hold lapsed and give their seats back, exactly once each.

    The orders are claimed with ``FOR NO KEY UPDATE SKIP LOCKED`` on PostgreSQL (two sweepers, or a
    sweeper and a buyer, never wait for each other) and moved with one conditional UPDATE;
    only the orders that UPDATE changed release seats. Returns the expired orders' ids.
    """
    query = select(Order.id).where(Order.status == OrderStatus.PENDING, Order.expires_at <= now)
    if ticket_type_ids is not None:
        query = query.where(
            Order.id.in_(
                select(OrderItem.order_id).where(OrderItem.ticket_type_id.in_(ticket_type_ids))
            )
        )
    candidates = list(
        await session.scalars(
            query.order_by(Order.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=Order, key_share=True)
        )
    )
    if not candidates:
        return []
    expired = list(
        await session.scalars(
            update(Order)
            .where(
                Order.id.in_(candidates),
                Order.status == OrderStatus.PENDING,
                Order.expires_at <= now,
            )
            .values(status=OrderStatus.EXPIRED, updated_at=now)
            .returning(Order.id)
            .execution_options(synchronize_session=False)
        )
    )
    if not expired:
        return []
    rows = await session.execute(
        select(Order.event_id, OrderItem.ticket_type_id, OrderItem.quantity)
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(Order.id.in_(expired))
    )
    seats = [Seats(event_id, ticket_type_id, n) for event_id, ticket_type_id, n in rows]
    await release_seats(session, seats, from_sold=False)
    promo_uses: dict[uuid.UUID, int] = defaultdict(int)
    for promo_code_id in await session.scalars(
        select(Order.promo_code_id).where(Order.id.in_(expired), Order.promo_code_id.is_not(None))
    ):
        if promo_code_id is not None:
            promo_uses[promo_code_id] += 1
    for promo_code_id, count in sorted(promo_uses.items()):
        await promos.give_back(session, promo_code_id, count)
    await waitlist.orders_expired(session, order_ids=expired)
    return expired


async def take_seats(
    session: AsyncSession, seats: list[Seats], *, as_sold: bool, guarded: bool = True
) -> None:
    if await inventory.take(session, seats, as_sold=as_sold, guarded=guarded):
        await _sold_out_changed(session, seats)
    else:
        _inventory_changed(session, seats)


async def release_seats(session: AsyncSession, seats: list[Seats], *, from_sold: bool) -> None:
    if await inventory.release(session, seats, from_sold=from_sold):
        await _sold_out_changed(session, seats)
    else:
        _inventory_changed(session, seats)


def _inventory_changed(session: AsyncSession, seats: list[Seats]) -> None:
    """Seats changed: the cached pages showing ``available`` are stale once this commits."""
    for event_id in sorted({item.event_id for item in seats}):
        public_event_changed(session, event_id)


async def _sold_out_changed(session: AsyncSession, seats: list[Seats]) -> None:
    """A ticket type or an event sold out or came back: the search index's ``available``
    filter follows in this transaction (a rare event, unlike every sale)."""
    for event_id in sorted({item.event_id for item in seats}):
        await index_event(session, event_id)
        public_event_changed(session, event_id)
