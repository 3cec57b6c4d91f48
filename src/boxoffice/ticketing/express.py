"""The flash-sale path on PostgreSQL: a whole order in ONE autocommitted statement.

Under a flash sale every buyer wants the same ticket type, so its row (and its event's) is the
one lock everybody queues for, and throughput is one over the time that lock is held. Inside a
normal transaction the lock is held from the UPDATE until COMMIT — at least one more round trip
through a busy event loop (measured: the holder was "idle in transaction" 68 % of the time).
Here the seats, the order, its item and the idempotent response are written by one statement
outside any explicit transaction: PostgreSQL commits it as it finishes, so the hot rows are
locked only while the statement runs, as in the bare ``pgbench`` ceiling.

All or nothing still holds: it is one statement. The conditional UPDATEs are the same as the
general path's (inventory.TAKE_ONE_TYPE_CTE); the rows are inserted only when both counters
moved (``WHERE EXISTS (SELECT 1 FROM took_event)``).

Used for the common shape — one ticket type, no promo code, a paid order — with the atomic
guard on; everything else takes the general path in the request's transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import SessionTransactionOrigin

from boxoffice.core.json import JSON_MEDIA_TYPE, dumps
from boxoffice.ticketing import inventory
from boxoffice.ticketing.models import Order, OrderItem, OrderStatus, PaymentStatus

EXPRESS_ORDER_SQL = (
    "WITH"
    + inventory.take_one_type_sql("held")
    + """,
    new_order AS (
        INSERT INTO orders (id, event_id, user_id, status, currency, subtotal_amount,
                            discount_amount, total_amount, expires_at, payment_status,
                            created_at, updated_at)
        SELECT :order_id, :event_id, :user_id, 'pending', :currency, :total, 0, :total,
               :expires_at, 'none', :now, :now
         WHERE EXISTS (SELECT 1 FROM took_event)
        RETURNING id
    ), new_item AS (
        INSERT INTO order_items (id, order_id, ticket_type_id, quantity, unit_amount,
                                 discount_amount)
        SELECT :item_id, id, :ticket_type_id, :n, :unit_amount, 0 FROM new_order
        RETURNING id
    ), stored AS (
        UPDATE idempotency_keys
           SET status_code = 201, media_type = :media_type, response_body = :body
         WHERE id = :record_id AND EXISTS (SELECT 1 FROM new_item)
        RETURNING id
    )"""
    + inventory.TAKE_ONE_TYPE_RESULT
)


def eligible(session: AsyncSession) -> bool:
    """The express path ends the caller's transaction (create_order rolls its reads back), so
    only a transaction that began by itself, as a request's unit of work does, may take it; a
    caller that began one (``async with session.begin():``) owns it: the general path."""
    bind = session.bind
    transaction = session.sync_session.get_transaction()
    return (
        isinstance(bind, AsyncEngine)
        and bind.dialect.name == "postgresql"
        and (transaction is None or transaction.origin is SessionTransactionOrigin.AUTOBEGIN)
    )


async def create(
    session: AsyncSession,
    *,
    event_id: uuid.UUID,
    user_id: uuid.UUID,
    ticket_type_id: uuid.UUID,
    quantity: int,
    unit_amount: int,
    currency: str,
    now: datetime,
    hold: timedelta,
    idempotency_record_id: uuid.UUID | None,
) -> tuple[Order, OrderItem, bytes | None, bool]:
    """Write the order; returns it, its item, the stored response body (when keyed) and
    whether the ticket type or event just sold out. Raises SoldOut / EventCancelled."""
    from boxoffice.ticketing.orders import OrderView, order_document  # noqa: PLC0415 - cycle

    total = unit_amount * quantity
    order = Order(
        id=uuid.uuid4(),
        event_id=event_id,
        user_id=user_id,
        status=OrderStatus.PENDING,
        currency=currency,
        subtotal_amount=total,
        discount_amount=0,
        total_amount=total,
        promo_code_id=None,
        expires_at=now + hold,
        confirmed_at=None,
        cancelled_at=None,
        cancel_reason=None,
        payment_provider=None,
        payment_status=PaymentStatus.NONE,
        payment_reference=None,
        payment_client_secret=None,
        created_at=now,
        updated_at=now,
    )
    item = OrderItem(
        id=uuid.uuid4(),
        order_id=order.id,
        ticket_type_id=ticket_type_id,
        quantity=quantity,
        unit_amount=unit_amount,
        discount_amount=0,
    )
    body = (
        dumps(order_document(OrderView(order, [item], [], None)))
        if idempotency_record_id is not None
        else None
    )
    engine = session.bind
    assert isinstance(engine, AsyncEngine)
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        row = (
            await autocommit.execute(
                text(EXPRESS_ORDER_SQL),
                {
                    "n": quantity,
                    "event_id": event_id,
                    "ticket_type_id": ticket_type_id,
                    "order_id": order.id,
                    "item_id": item.id,
                    "user_id": user_id,
                    "currency": currency,
                    "total": total,
                    "unit_amount": unit_amount,
                    "expires_at": order.expires_at,
                    "now": now,
                    "record_id": idempotency_record_id,
                    "media_type": JSON_MEDIA_TYPE,
                    "body": body,
                },
            )
        ).one()
    type_left, event_took, event_left, on_sale = row
    if not event_took:
        raise await inventory.explain_take_failure(
            session, ticket_type_id, event_id, wanted=quantity, on_sale=on_sale
        )
    return order, item, body, bool(type_left == 0 or event_left == 0)
