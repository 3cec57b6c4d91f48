"""Payment work that runs after the request: settling the orders of a cancelled event."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from boxoffice.core.timestamps import utcnow
from boxoffice.jobs.context import JobContext
from boxoffice.jobs.registry import Queue, job
from boxoffice.ticketing import orders
from boxoffice.ticketing.models import Order, OrderStatus


@job("payments.settle_cancelled_order", queue=Queue.CRITICAL, max_retries=12)
async def settle_cancelled_order(ctx: JobContext, order_id: str) -> None:
    """Refund (or void) a cancelled order's payment. The provider call carries the order's
    idempotency key, so a retry after a crash between the call and the commit is answered
    with the same refund; once the payment status moved on, a redelivery does nothing."""
    async with ctx.database.write_sessions() as session, session.begin():
        order = await session.scalar(
            select(Order)
            .where(Order.id == uuid.UUID(order_id))
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )
        if order is None or order.status is not OrderStatus.CANCELLED:
            return
        provider = ctx.payments.named(order.payment_provider)
        await orders.refund_or_void(session, order, provider, now=utcnow())
