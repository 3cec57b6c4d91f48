"""Demo sales: a demo buyer holds paid tickets for some demo events, so the organizer's sales,
orders and attendee views and the buyer's ``/me/tickets`` have something to show.

Orders go through the real services (hold → pay with the test card → tickets), so the demo
counters are exactly what the rows say.
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import User
from boxoffice.accounts.passwords import hash_password
from boxoffice.core.errors import Problem
from boxoffice.core.progress import progress_bar
from boxoffice.core.timestamps import utcnow
from boxoffice.db.engine import Database
from boxoffice.events.models import Event, EventStatus
from boxoffice.payments.providers import SUCCEEDS, TestCardProvider
from boxoffice.ticketing import orders
from boxoffice.ticketing.models import TicketType

DEMO_BUYER_EMAIL = "buyer@boxoffice.example"
DEMO_BUYER_NAME = "Demo Buyer"
DEMO_SALES = 60


async def _demo_buyer(session: AsyncSession, password: str) -> User:
    user = await session.scalar(select(User).where(User.email == DEMO_BUYER_EMAIL))
    if user is None:
        now = utcnow()
        user = User(
            email=DEMO_BUYER_EMAIL,
            name=DEMO_BUYER_NAME,
            password_hash=hash_password(password),
            created_at=now,
            updated_at=now,
        )
        session.add(user)
        await session.flush()
    return user


async def seed_demo_sales(database: Database, *, password: str, seed: int) -> int:
    """Buy and pay for tickets of up to DEMO_SALES demo events; returns the orders made."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    async with database.write_sessions() as session, session.begin():
        buyer = await _demo_buyer(session, password)
        buyer_id = buyer.id
        candidates = list(
            (
                await session.execute(
                    select(Event.id, TicketType.id, TicketType.max_per_order)
                    .join(TicketType, TicketType.event_id == Event.id)
                    .where(Event.status == EventStatus.PUBLISHED, Event.starts_at > utcnow())
                    .order_by(Event.starts_at, TicketType.price_amount, TicketType.id)
                )
            ).all()
        )
    cheapest: dict[uuid.UUID, tuple[uuid.UUID, int]] = {}
    for event_id, ticket_type_id, max_per_order in candidates:
        cheapest.setdefault(event_id, (ticket_type_id, max_per_order))
    chosen = rng.sample(sorted(cheapest.items(), key=str), min(DEMO_SALES, len(cheapest)))
    provider = TestCardProvider()
    made = 0
    with progress_bar("selling demo tickets") as advance:
        for done, (event_id, (ticket_type_id, max_per_order)) in enumerate(chosen, start=1):
            try:
                async with database.write_sessions() as session, session.begin():
                    event = await session.get(Event, event_id)
                    assert event is not None
                    now = utcnow()
                    view = await orders.create_order(
                        session,
                        event=event,
                        user_id=buyer_id,
                        lines=[orders.Line(ticket_type_id, rng.randint(1, min(3, max_per_order)))],
                        promo_code=None,
                        now=now,
                        hold=timedelta(minutes=10),
                        offer_for=timedelta(minutes=30),
                    )
                    if view.order.total_amount > 0:
                        await orders.pay(
                            session,
                            order=view.order,
                            provider=provider,
                            method={"number": SUCCEEDS},
                            now=now,
                        )
                made += 1
            except Problem:
                pass  # sold out, sales window closed: not an error for demo data
            advance(done, len(chosen))
    return made
