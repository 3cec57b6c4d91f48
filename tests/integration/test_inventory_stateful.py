"""A state machine over the ticketing services: seat counters never drift from the rows.

Hypothesis interleaves what buyers, organizers and the expiry sweep do to one published event,
calling the services directly against a real migrated database of the current backend:

* ``buy``: an order of one to three ticket types, maybe with a promo code (valid, used up,
  expired, not applicable or unknown), maybe paid at once (a second request); through a
  request's unit of work (on PostgreSQL a one-line paid order then takes the express path)
  or in a transaction its caller began, as the demo seeding does;
* ``pay`` with a good, declined or insufficient-funds test card; ``claim_offer`` (pay a
  waiting-list offer); ``cancel`` (by the buyer, refused once the event started; or by the
  organizer);
* ``time_passes`` (0-20 min) or ``hold_lapses`` (to the very instant a pending hold or offer
  lapses), each followed by the sweep (``sweep_once``), by only its expiry transaction, or
  by nothing yet;
* ``join_waitlist`` / ``leave_waitlist`` (an open offer is declined first, like the route);
* ``change_quantity`` of a ticket type and ``change_capacity`` of the event (refused below
  what is sold or held).

Each step is one transaction, as a request would be; a step that raises a domain problem must
roll back whole. After every step fresh queries (a new session) check:

* per ticket type ``0 <= sold``, ``0 <= held``, ``sold + held <= quantity``; for the event
  ``sold + held <= capacity`` and its counters are the sums of its ticket types';
* the counters are the rows: ``held`` is the seats of pending orders, ``sold`` those of
  confirmed orders and the number of valid tickets; every confirmed order has one valid ticket
  per seat, no other order has any; ticket codes are distinct;
* a promo code's ``uses`` is the number of live (pending or confirmed) orders carrying it and
  never exceeds ``max_uses``;
* every offered waiting-list entry has a pending order of its user holding exactly its seats.

Each step also checks its own outcome against a prediction made from the state it read in the
same transaction (a good card on a live hold confirms; a declined card is a 402; an order that
fits the seats left succeeds; …), and after a sweep no lapsed hold is left and every waiting
list whose first person could be served has been.

The services take ``now``, so the clock is the machine's. Every example gets its own event,
organization and buyers, on a clock that starts one day earlier than the previous example's
(and long before the real date), so a sweep never expires another example's holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import hypothesis
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import User
from boxoffice.config import Settings
from boxoffice.core.cache import NullCache
from boxoffice.core.errors import ValidationFailed
from boxoffice.db.engine import create_database
from boxoffice.events import service as events_service
from boxoffice.events.errors import CapacityBelowCommitted
from boxoffice.events.models import Event
from boxoffice.organizations.models import Membership, Organization, Role
from boxoffice.payments.providers import DECLINED, INSUFFICIENT_FUNDS, SUCCEEDS, PaymentProvider
from boxoffice.payments.registry import PaymentProviders
from boxoffice.ticketing import inventory, orders, promos, waitlist
from boxoffice.ticketing import service as ticketing_service
from boxoffice.ticketing.errors import (
    AlreadyOnWaitlist,
    InsufficientFunds,
    NotSoldOut,
    OrderExpired,
    OrderNotCancellable,
    OrderNotPending,
    PaymentRequired,
    QuantityBelowCommitted,
    SoldOut,
)
from boxoffice.ticketing.models import (
    Order,
    OrderItem,
    OrderStatus,
    PromoCode,
    Ticket,
    TicketStatus,
    TicketType,
    WaitlistEntry,
    WaitlistStatus,
)
from boxoffice.ticketing.sweep import sweep_once

HOLD = timedelta(minutes=10)
OFFER_FOR = timedelta(minutes=30)
PROMO_CODE = "STATEFUL"
# Long before any real date, so the holds of other test modules never lapse on this clock and
# these events never show among upcoming ones.
FIRST_BASE = datetime(2010, 1, 1, 12, 0, tzinfo=UTC)
_examples = itertools.count()

MACHINE_SETTINGS = hypothesis.settings(
    max_examples=40,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
)

CARDS = {"good": SUCCEEDS, "declined": DECLINED, "insufficient": INSUFFICIENT_FUNDS}
CARD_OUTCOME: dict[str, type[Exception] | None] = {
    "good": None,
    "declined": PaymentRequired,
    "insufficient": InsufficientFunds,
}

# A prediction that allows both a success and a SoldOut (a lazy release of lapsed holds decides).
MAYBE = object()

ticket_type_specs = st.lists(
    st.fixed_dictionaries(
        {
            "quantity": st.integers(1, 6),
            "price": st.sampled_from([1500, 2500, 0]),  # 0: free orders confirm at once
            "max_per_order": st.integers(2, 4),
            # minutes after the start of the run; mostly none, so sales (and offers) go on
            "sales_end": st.sampled_from([None, None, None, 30, 90]),
        }
    ),
    min_size=2,
    max_size=3,
)
sweeps = st.sampled_from(["whole", "whole", "expiry only", "none"])
discounts = st.one_of(
    st.fixed_dictionaries({"percent_off": st.sampled_from([10, 50, 100])}),
    st.fixed_dictionaries({"amount_off": st.sampled_from([500, 5000])}),
)


class Purchase(NamedTuple):
    """An order: a buyer's index, (ticket type index, seats) lines, maybe a promo code; maybe
    the card the buyer pays with right away (a second request); and whether the order comes
    through a request's unit of work (``"request"``: the transaction begins by itself, so on
    PostgreSQL a one-line paid order takes the express path) or from a script that begins its
    own transaction (``"script"``, like the demo seeding: always the general path)."""

    buyer: int
    lines: tuple[tuple[int, int], ...]
    promo_code: str | None
    pay_with: str | None
    via: str


# Ticket type index 0 is the one with the most seats left (indices wrap around).
purchases = st.builds(
    Purchase,
    buyer=st.integers(0, 3),
    lines=st.lists(
        st.tuples(st.integers(0, 2), st.sampled_from([1, 1, 2, 2, 3])),
        min_size=1,
        max_size=3,
        unique_by=lambda line: line[0],
    ).map(tuple),
    promo_code=st.sampled_from([None, None, PROMO_CODE.lower(), PROMO_CODE.lower(), "nope"]),
    pay_with=st.sampled_from([None, "good", "good", "declined", "insufficient"]),
    via=st.sampled_from(["request", "script"]),
)


def _ticket_type_ids(count: int) -> list[uuid.UUID]:
    """Ids in creation order: the services order ticket types by id, so replays are alike."""
    base = uuid.uuid4().int & ~0xFF
    return [uuid.UUID(int=base + index + 1) for index in range(count)]


class InventoryMachine(RuleBasedStateMachine):
    def __init__(self, app_settings: Settings) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.database = create_database(app_settings)
        self.payments = PaymentProviders(app_settings)
        self.cache = NullCache()
        self.now = FIRST_BASE - timedelta(days=next(_examples))
        self.event_id: uuid.UUID | None = None
        self.starts_at = self.now
        self.ticket_types: list[uuid.UUID] = []
        self.buyers: list[uuid.UUID] = []
        # What the rules pick from, in a replayable order (observed after every step):
        self.orders: list[uuid.UUID] = []  # every order of the event, offers included
        self.pending: list[uuid.UUID] = []  # those still pending (their holds may have lapsed)
        self.expiry: dict[uuid.UUID, datetime] = {}  # when the pending ones' holds lapse
        self.entries: list[tuple[uuid.UUID, uuid.UUID]] = []  # (ticket type, user) queued
        # Ticket types by seats left: buyers mostly pick plentiful ones, waiting lists scarce ones.
        self.plentiful: list[uuid.UUID] = []
        self.scarcest: list[uuid.UUID] = []
        self.offered: list[uuid.UUID] = []  # the orders of open waiting-list offers
        self.joins = 0

    def teardown(self) -> None:
        try:
            self.loop.run_until_complete(self.database.dispose())
        finally:
            self.loop.close()

    def _run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    @contextlib.asynccontextmanager
    async def _transaction(self, via: str) -> AsyncIterator[AsyncSession]:
        """One transaction: begun explicitly (``"script"``), or begun by the first statement
        and committed at the end, rolled back on any error (``"request"``: what
        db/session.py's WriteSession does for a route)."""
        if via == "script":
            async with self.database.write_sessions() as session, session.begin():
                yield session
            return
        session = self.database.write_sessions()
        try:
            yield session
        except BaseException:
            if session.in_transaction():
                await session.rollback()
            raise
        else:
            if session.in_transaction():
                await session.commit()
        finally:
            await session.close()

    def _index(self, ticket_type_id: uuid.UUID) -> int:
        return self.ticket_types.index(ticket_type_id)

    def _buyer(self, user_id: uuid.UUID) -> int:
        return self.buyers.index(user_id)

    def _outcome(self, step: str, expected: Any, raised: Exception | None) -> None:
        """The step ended as predicted (``MAYBE``: success or a SoldOut)."""
        hypothesis.event(f"{step}: {type(raised).__name__ if raised else 'ok'}")
        if expected is MAYBE:
            assert raised is None or isinstance(raised, SoldOut), (step, raised)
        elif expected is None:
            assert raised is None, f"{step}: expected success, got {raised!r}"
        else:
            assert isinstance(raised, expected), f"{step}: expected {expected}, got {raised!r}"
            if expected in (PaymentRequired, InsufficientFunds):
                assert type(raised) is expected, (step, raised)

    # ------------------------------------------------------------------------------ setup

    @initialize(
        capacity=st.sampled_from([None, 8, 4, 2]),
        specs=ticket_type_specs,
        # minutes: mostly far ahead; sometimes soon enough for the clock to reach the start
        # (buyers can no longer cancel) and the end (nothing is sold or offered any more)
        starts_in=st.sampled_from([60 * 24 * 30, 60 * 24 * 30, 60 * 24 * 30, 45, 120]),
        discount=discounts,
        restricted=st.booleans(),
        max_uses=st.integers(1, 3),
        promo_until=st.sampled_from([None, None, 30, 90]),  # minutes
        buyer_count=st.integers(2, 4),
    )
    def setup(
        self,
        capacity: int | None,
        specs: list[dict[str, Any]],
        starts_in: int,
        discount: dict[str, int],
        restricted: bool,
        max_uses: int,
        promo_until: int | None,
        buyer_count: int,
    ) -> None:
        self._run(
            self._setup(
                capacity, specs, starts_in, discount, restricted, max_uses, promo_until, buyer_count
            )
        )

    async def _setup(
        self,
        capacity: int | None,
        specs: list[dict[str, Any]],
        starts_in: int,
        discount: dict[str, int],
        restricted: bool,
        max_uses: int,
        promo_until: int | None,
        buyer_count: int,
    ) -> None:
        now = self.now
        tag = uuid.uuid4().hex[:12]
        async with self.database.write_sessions() as session, session.begin():
            owner = User(
                id=uuid.uuid4(),
                email=f"organizer-{tag}@example.com",
                name="Organizer",
                password_hash="!",
            )
            organization = Organization(id=uuid.uuid4(), name="Stateful", slug=f"stateful-{tag}")
            buyers = [
                User(
                    id=uuid.uuid4(),
                    email=f"buyer{index}-{tag}@example.com",
                    name=f"Buyer {index}",
                    password_hash="!",
                )
                for index in range(buyer_count)
            ]
            session.add_all([owner, organization, *buyers])
            await session.flush()
            session.add(
                Membership(organization_id=organization.id, user_id=owner.id, role=Role.OWNER)
            )
            self.starts_at = now + timedelta(minutes=starts_in)
            event = await events_service.create_event(
                session,
                organization_id=organization.id,
                fields={
                    "title": f"Stateful {tag}",
                    "description": "",
                    "category": "music",
                    "tags": [],
                    "starts_at": self.starts_at,
                    "ends_at": self.starts_at + timedelta(hours=1),
                    "timezone": "UTC",
                    "capacity": capacity,
                },
                now=now,
            )
            ids = _ticket_type_ids(len(specs))
            for index, (ticket_type_id, spec) in enumerate(zip(ids, specs, strict=True)):
                sales_end = spec["sales_end"]
                await ticketing_service.create_ticket_type(
                    session,
                    event=event,
                    fields={
                        "id": ticket_type_id,
                        "name": f"Type {index}",
                        "price_amount": spec["price"],
                        "currency": "EUR",
                        "quantity": spec["quantity"],
                        "max_per_order": spec["max_per_order"],
                        "sales_start": None,
                        "sales_end": None
                        if sales_end is None
                        else now + timedelta(minutes=sales_end),
                    },
                    now=now,
                )
            await events_service.publish_event(session, event=event, now=now)
            await promos.create(
                session,
                event=event,
                fields={
                    "code": PROMO_CODE.lower(),
                    "percent_off": discount.get("percent_off"),
                    "amount_off": discount.get("amount_off"),
                    "ticket_type_ids": [str(ids[0])] if restricted else None,
                    "valid_from": None,
                    "valid_until": None
                    if promo_until is None
                    else now + timedelta(minutes=promo_until),
                    "max_uses": max_uses,
                },
                now=now,
            )
        self.event_id = event.id
        self.ticket_types = ids
        self.buyers = [buyer.id for buyer in buyers]

    # ------------------------------------------------------------------------------ postconditions

    async def _assert_waitlists_served(self, ticket_type_ids: list[uuid.UUID]) -> None:
        """Seats that came back went to the waiting list: whoever is first in line for a ticket
        type on sale wants more than is left (an offer is a sale: none outside the type's sales
        window, none once the event is over)."""
        now = self.now
        async with self.database.primary_read_sessions() as session, session.begin():
            left = await inventory.available_seats(session, ticket_type_ids)
            ends_at = await session.scalar(select(Event.ends_at).where(Event.id == self.event_id))
            for ticket_type_id in ticket_type_ids:
                sales_end = await session.scalar(
                    select(TicketType.sales_end).where(TicketType.id == ticket_type_id)
                )
                if (ends_at is not None and now >= ends_at) or (
                    sales_end is not None and now >= sales_end
                ):
                    continue
                first = await session.scalar(
                    select(WaitlistEntry.quantity)
                    .where(
                        WaitlistEntry.ticket_type_id == ticket_type_id,
                        WaitlistEntry.status == WaitlistStatus.WAITING,
                    )
                    .order_by(WaitlistEntry.joined_at, WaitlistEntry.id)
                    .limit(1)
                )
                assert first is None or first > left[ticket_type_id], (
                    f"type {self._index(ticket_type_id)}: {left[ticket_type_id]} seats free "
                    f"but the first in line (wanting {first}) got no offer"
                )

    # ------------------------------------------------------------------------------ buying

    @rule(purchase=purchases)
    def buy(self, purchase: Purchase) -> None:
        self._run(self._buy(purchase))

    async def _buy(self, purchase: Purchase) -> None:
        """A script pays in the order's own transaction (a declined card undoes the order);
        a buyer pays in a second request."""
        user_id = self.buyers[purchase.buyer % len(self.buyers)]
        promo_code = purchase.promo_code
        wanted: dict[uuid.UUID, int] = {}
        for index, quantity in purchase.lines:
            wanted.setdefault(self.plentiful[index % len(self.plentiful)], quantity)
        lines = [orders.Line(ticket_type_id, n) for ticket_type_id, n in wanted.items()]
        card = purchase.pay_with
        pay_along = purchase.via == "script" and card is not None
        expected: Any = None
        view: orders.OrderView | None = None
        raised: Exception | None = None
        declined: Exception | None = None
        try:
            async with self._transaction(purchase.via) as session:
                event = await session.get(Event, self.event_id)
                assert event is not None
                expected = await self._predict_order(session, event, lines, promo_code)
                view = await orders.create_order(
                    session,
                    event=event,
                    user_id=user_id,
                    lines=lines,
                    promo_code=promo_code,
                    now=self.now,
                    hold=HOLD,
                    offer_for=OFFER_FOR,
                    guarded=True,
                )
                self._check_new_order(view, sum(wanted.values()))
                if pay_along and card is not None and view.order.total_amount > 0:
                    try:
                        paid = await orders.pay(
                            session,
                            order=view.order,
                            provider=self.payments.test,
                            method={"type": "test_card", "number": CARDS[card]},
                            now=self.now,
                        )
                    except PaymentRequired as exc:
                        self._outcome("pay along", CARD_OUTCOME[card], exc)
                        raise
                    self._outcome("pay along", CARD_OUTCOME[card], None)
                    assert paid.order.status is OrderStatus.CONFIRMED
        except (SoldOut, ValidationFailed) as exc:
            raised = exc
        except PaymentRequired as exc:
            declined = exc  # the whole transaction, the order too, was rolled back
        self._outcome("create order", expected, raised)
        if view is None or declined is not None:
            return
        self.orders.append(view.order.id)
        if card is not None and not pay_along and view.order.status is OrderStatus.PENDING:
            await self._observe()  # the state between the two requests is checked too
            await self._pay(view.order.id, card, step="pay at once")

    def _check_new_order(self, view: orders.OrderView, seats: int) -> None:
        order = view.order
        assert order.total_amount == order.subtotal_amount - order.discount_amount >= 0
        free = order.total_amount == 0
        assert order.status is (OrderStatus.CONFIRMED if free else OrderStatus.PENDING)
        assert len(view.tickets) == (seats if free else 0)

    async def _predict_order(
        self, session: AsyncSession, event: Event, lines: list[orders.Line], code: str | None
    ) -> Any:
        """What create_order must do, from the state this transaction reads first."""
        now = self.now
        types = {
            ticket_type.id: ticket_type
            for ticket_type in await session.scalars(
                select(TicketType).where(TicketType.event_id == event.id)
            )
        }
        if event.ends_at <= now:
            return ValidationFailed
        for line in lines:
            ticket_type = types[line.ticket_type_id]
            if ticket_type.sales_end is not None and now >= ticket_type.sales_end:
                return ValidationFailed
            if line.quantity > ticket_type.max_per_order:
                return ValidationFailed
        if code is not None:
            promo = await session.scalar(
                select(PromoCode).where(
                    PromoCode.event_id == event.id, PromoCode.code == promos.normalize(code)
                )
            )
            if promo is None:
                return ValidationFailed
            if promo.valid_until is not None and now >= promo.valid_until:
                return ValidationFailed
            if promo.max_uses is not None and promo.uses >= promo.max_uses:
                return ValidationFailed
            if promo.ticket_type_ids is not None and not any(
                str(line.ticket_type_id) in promo.ticket_type_ids for line in lines
            ):
                return ValidationFailed
        own_fits = all(types[line.ticket_type_id].available >= line.quantity for line in lines)
        shared_fits = event.capacity is None or (
            event.capacity - event.sold - event.held >= sum(line.quantity for line in lines)
        )
        if own_fits and shared_fits:
            return None
        if all(
            inventory.capped(types[line.ticket_type_id], event) >= line.quantity for line in lines
        ):
            return SoldOut  # short only of the shared capacity: no lazy release is tried
        lapsed = await session.scalar(
            select(func.count())
            .select_from(Order)
            .where(
                Order.status == OrderStatus.PENDING,
                Order.expires_at <= now,
                Order.id.in_(
                    select(OrderItem.order_id).where(
                        OrderItem.ticket_type_id.in_([line.ticket_type_id for line in lines])
                    )
                ),
            )
        )
        return MAYBE if lapsed else SoldOut

    # ------------------------------------------------------------------------------ paying

    def _pick(self, data: st.DataObject, choices: list[uuid.UUID], label: str) -> uuid.UUID:
        return choices[data.draw(st.integers(0, len(choices) - 1), label=label)]

    @precondition(lambda self: self.orders)
    @rule(
        data=st.data(),
        card=st.sampled_from(["good", "good", "declined", "insufficient"]),
        any_order=st.sampled_from([False, False, False, True]),
    )
    def pay(self, data: st.DataObject, card: str, any_order: bool) -> None:
        choices = self.orders if any_order or not self.pending else self.pending
        self._run(self._pay(self._pick(data, choices, "order"), card, step="pay"))

    @precondition(lambda self: self.offered)
    @rule(data=st.data())
    def claim_offer(self, data: st.DataObject) -> None:
        self._run(self._pay(self._pick(data, self.offered, "offer"), "good", step="claim offer"))

    async def _pay(self, order_id: uuid.UUID, card: str, *, step: str) -> None:
        now = self.now
        expected: Any = None
        raised: Exception | None = None
        try:
            async with self.database.write_sessions() as session, session.begin():
                order = await session.get(Order, order_id)
                assert order is not None
                provider: PaymentProvider = (
                    self.payments.free if order.total_amount == 0 else self.payments.test
                )
                if order.status is OrderStatus.EXPIRED or (
                    order.status is OrderStatus.PENDING and order.expires_at <= now
                ):
                    expected = OrderExpired
                elif order.status is not OrderStatus.PENDING:
                    expected = OrderNotPending
                else:
                    expected = None if order.total_amount == 0 else CARD_OUTCOME[card]
                view = await orders.pay(
                    session,
                    order=order,
                    provider=provider,
                    method={"type": "test_card", "number": CARDS[card]},
                    now=now,
                )
                assert view.order.status is OrderStatus.CONFIRMED
                assert len(view.tickets) == sum(item.quantity for item in view.items)
        except (PaymentRequired, OrderExpired, OrderNotPending) as exc:
            raised = exc
        self._outcome(step, expected, raised)

    # ------------------------------------------------------------------------------ cancelling

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), by_organizer=st.booleans())
    def cancel(self, data: st.DataObject, by_organizer: bool) -> None:
        self._run(self._cancel(self._pick(data, self.orders, "order"), by_organizer))

    async def _cancel(self, order_id: uuid.UUID, by_organizer: bool) -> None:
        now = self.now
        expected: Any = None
        raised: Exception | None = None
        ticket_type_ids: list[uuid.UUID] = []
        try:
            async with self.database.write_sessions() as session, session.begin():
                order = await session.get(Order, order_id)
                assert order is not None
                ticket_type_ids = sorted(
                    await session.scalars(
                        select(OrderItem.ticket_type_id).where(OrderItem.order_id == order_id)
                    )
                )
                started = not by_organizer and now >= self.starts_at
                if started or order.status not in (OrderStatus.PENDING, OrderStatus.CONFIRMED):
                    expected = OrderNotCancellable
                view = await orders.cancel(
                    session,
                    order=order,
                    provider=self.payments.named(order.payment_provider),
                    now=now,
                    reason="by the organizer" if by_organizer else "by the buyer",
                    before=None if by_organizer else self.starts_at,
                    offer_for=OFFER_FOR,
                )
                assert view.order.status is OrderStatus.CANCELLED
                assert all(ticket.status is TicketStatus.VOID for ticket in view.tickets), (
                    "a cancelled order kept valid tickets"
                )
        except OrderNotCancellable as exc:
            raised = exc
        self._outcome("cancel", expected, raised)
        if raised is None:
            await self._assert_waitlists_served(ticket_type_ids)

    # ------------------------------------------------------------------------------ the clock

    @rule(minutes=st.integers(0, 20), sweep=sweeps)
    def time_passes(self, minutes: int, sweep: str) -> None:
        """The clock moves, then the periodic sweep runs: whole, or only its first transaction
        (holds released, offers not made yet: a state requests see too), or not yet."""
        self.now += timedelta(minutes=minutes)
        self._after_time_passed(sweep)

    @precondition(lambda self: self.pending)
    @rule(data=st.data(), sweep=sweeps)
    def hold_lapses(self, data: st.DataObject, sweep: str) -> None:
        """Nobody acts until a pending order's hold (or a waiting-list offer) lapses: the clock
        moves to the very instant it expires (if it is not past it already)."""
        order_id = self._pick(data, self.pending, "order")
        self.now = max(self.now, self.expiry[order_id])
        self._after_time_passed(sweep)

    def _after_time_passed(self, sweep: str) -> None:
        if sweep == "whole":
            self._run(self._sweep())
        elif sweep == "expiry only":
            self._run(self._release_expired())

    async def _release_expired(self) -> None:
        async with self.database.write_sessions() as session, session.begin():
            released = await orders.release_expired(session, now=self.now)
        hypothesis.event(f"release expired: {'some' if released else 'none'}")
        await self._assert_no_lapsed_holds()

    async def _sweep(self) -> None:
        result = await sweep_once(self.database, self.cache, now=self.now, offer_for=OFFER_FOR)
        hypothesis.event(
            f"sweep: {'expired' if result.expired_orders else 'none expired'}, "
            f"{'offers' if result.offers else 'no offers'}"
        )
        await self._assert_no_lapsed_holds()
        await self._assert_waitlists_served(self.ticket_types)

    async def _assert_no_lapsed_holds(self) -> None:
        async with self.database.primary_read_sessions() as session, session.begin():
            lapsed = await session.scalar(
                select(func.count())
                .select_from(Order)
                .where(
                    Order.event_id == self.event_id,
                    Order.status == OrderStatus.PENDING,
                    Order.expires_at <= self.now,
                )
            )
        assert lapsed == 0, f"{lapsed} lapsed holds survived the sweep"

    # ------------------------------------------------------------------------------ waiting lists

    @rule(
        buyer=st.integers(0, 3),
        index=st.integers(0, 2),
        wants=st.sampled_from(["one more", "one more", "one more", "two more", "what is left"]),
    )
    def join_waitlist(self, buyer: int, index: int, wants: str) -> None:
        """Queue for more seats than are left (at most ``max_per_order``), or for what is
        left (then it is not sold out: refused). ``index`` 0 is the scarcest ticket type."""
        self._run(self._join(buyer, index, wants))

    async def _join(self, buyer: int, index: int, wants: str) -> None:
        user_id = self.buyers[buyer % len(self.buyers)]
        ticket_type_id = self.scarcest[index % len(self.scarcest)]
        # Joins a moment apart, so the queue's order never rests on random ids.
        self.joins += 1
        now = self.now + timedelta(microseconds=self.joins)
        expected: Any = None
        raised: Exception | None = None
        try:
            async with self.database.write_sessions() as session, session.begin():
                event = await session.get(Event, self.event_id)
                ticket_type = await session.get(TicketType, ticket_type_id)
                assert event is not None and ticket_type is not None
                left = inventory.capped(ticket_type, event)
                quantity = {
                    "one more": min(left + 1, ticket_type.max_per_order),
                    "two more": min(left + 2, ticket_type.max_per_order),
                    "what is left": max(left, 1),
                }[wants]
                existing = await session.scalar(
                    select(WaitlistEntry.status).where(
                        WaitlistEntry.ticket_type_id == ticket_type_id,
                        WaitlistEntry.user_id == user_id,
                    )
                )
                if event.ends_at <= now or quantity > ticket_type.max_per_order:
                    expected = ValidationFailed
                elif left >= quantity:
                    expected = NotSoldOut
                elif existing in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED):
                    expected = AlreadyOnWaitlist
                place = await waitlist.join(
                    session,
                    ticket_type=ticket_type,
                    event=event,
                    user_id=user_id,
                    quantity=quantity,
                    now=now,
                )
                assert place.entry.status is WaitlistStatus.WAITING and place.position
        except (ValidationFailed, NotSoldOut, AlreadyOnWaitlist) as exc:
            raised = exc
        self._outcome("join waitlist", expected, raised)

    @precondition(lambda self: self.entries)
    @rule(data=st.data())
    def leave_waitlist(self, data: st.DataObject) -> None:
        place = data.draw(st.integers(0, len(self.entries) - 1), label="entry")
        self._run(self._leave(*self.entries[place]))

    async def _leave(self, ticket_type_id: uuid.UUID, user_id: uuid.UUID) -> None:
        """What DELETE /ticket-types/{id}/waitlist does: an open offer is declined first. The
        entry was just observed, so NotOnWaitlist would be a failure."""
        declined = False
        async with self.database.write_sessions() as session, session.begin():
            entry = await waitlist.entry_of(session, ticket_type_id=ticket_type_id, user_id=user_id)
            if entry.status is WaitlistStatus.OFFERED and entry.order_id is not None:
                order = await session.get(Order, entry.order_id)
                if order is not None and order.status is OrderStatus.PENDING:
                    await orders.cancel(
                        session,
                        order=order,
                        provider=self.payments.named(order.payment_provider),
                        now=self.now,
                        reason="waiting-list offer declined",
                        before=None,
                        offer_for=OFFER_FOR,
                    )
                    declined = True
            await waitlist.leave(session, entry)
        hypothesis.event(f"leave waitlist{' (offer declined)' if declined else ''}")
        if declined:
            await self._assert_waitlists_served([ticket_type_id])

    # ------------------------------------------------------------------------------ organizer

    @rule(index=st.integers(0, 2), change=st.sampled_from([2, 1, -1, 3, -2, 0]))
    def change_quantity(self, index: int, change: int) -> None:
        """The organizer changes a ticket type's quantity by ``change`` (to at least 1); index 0
        is the scarcest ticket type."""
        self._run(self._change_quantity(index, change))

    async def _change_quantity(self, index: int, change: int) -> None:
        ticket_type_id = self.scarcest[index % len(self.scarcest)]
        expected: Any = None
        raised: Exception | None = None
        try:
            async with self.database.write_sessions() as session, session.begin():
                event = await session.get(Event, self.event_id)
                ticket_type = await session.get(TicketType, ticket_type_id)
                assert event is not None and ticket_type is not None
                quantity = max(ticket_type.quantity + change, 1)
                if quantity < ticket_type.sold + ticket_type.held:
                    expected = QuantityBelowCommitted
                changed = await ticketing_service.update_ticket_type(
                    session,
                    ticket_type=ticket_type,
                    event=event,
                    changes={"quantity": quantity},
                    now=self.now,
                )
                assert changed.quantity == quantity
        except QuantityBelowCommitted as exc:
            raised = exc
        self._outcome("change quantity", expected, raised)

    @rule(beyond=st.sampled_from([None, 3, 1, 0, -1]))
    def change_capacity(self, beyond: int | None) -> None:
        """The organizer sets the event's capacity to ``beyond`` seats more than are sold or
        held (at least 1; -1: one too few), or removes it (None)."""
        self._run(self._change_capacity(beyond))

    async def _change_capacity(self, beyond: int | None) -> None:
        expected: Any = None
        raised: Exception | None = None
        try:
            async with self.database.write_sessions() as session, session.begin():
                event = await session.get(Event, self.event_id)
                assert event is not None
                committed = event.sold + event.held
                capacity = None if beyond is None else max(committed + beyond, 1)
                if capacity is not None and capacity < committed:
                    expected = CapacityBelowCommitted
                changed = await events_service.update_event(
                    session, event=event, changes={"capacity": capacity}, now=self.now
                )
                assert changed.capacity == capacity
        except CapacityBelowCommitted as exc:
            raised = exc
        self._outcome("change capacity", expected, raised)

    # ------------------------------------------------------------------------------ invariants

    @invariant()
    def counters_match_rows(self) -> None:
        """Checked after every step, from fresh queries in a new session; also notes what the
        next steps can pick from (orders, offers, waiting-list entries)."""
        if self.event_id is not None:
            self._run(self._observe())

    async def _observe(self) -> None:
        event_id = self.event_id
        async with self.database.primary_read_sessions() as session, session.begin():
            types = {
                row.id: row
                for row in await session.execute(
                    select(
                        TicketType.id, TicketType.quantity, TicketType.sold, TicketType.held
                    ).where(TicketType.event_id == event_id)
                )
            }
            capacity, event_sold, event_held = (
                await session.execute(
                    select(Event.capacity, Event.sold, Event.held).where(Event.id == event_id)
                )
            ).one()
            order_rows = {
                row.id: row
                for row in await session.execute(
                    select(
                        Order.id,
                        Order.user_id,
                        Order.status,
                        Order.promo_code_id,
                        Order.expires_at,
                        Order.subtotal_amount,
                        Order.discount_amount,
                        Order.total_amount,
                    ).where(Order.event_id == event_id)
                )
            }
            items = (
                await session.execute(
                    select(OrderItem.order_id, OrderItem.ticket_type_id, OrderItem.quantity)
                    .join(Order, Order.id == OrderItem.order_id)
                    .where(Order.event_id == event_id)
                    .order_by(OrderItem.order_id, OrderItem.ticket_type_id)
                )
            ).all()
            issued = (
                await session.execute(
                    select(
                        Ticket.order_id, Ticket.ticket_type_id, Ticket.status, Ticket.code
                    ).where(Ticket.event_id == event_id)
                )
            ).all()
            promo_rows = (
                await session.execute(
                    select(PromoCode.id, PromoCode.uses, PromoCode.max_uses).where(
                        PromoCode.event_id == event_id
                    )
                )
            ).all()
            entries = (
                await session.execute(
                    select(
                        WaitlistEntry.ticket_type_id,
                        WaitlistEntry.user_id,
                        WaitlistEntry.quantity,
                        WaitlistEntry.status,
                        WaitlistEntry.order_id,
                        WaitlistEntry.offer_expires_at,
                    ).where(WaitlistEntry.event_id == event_id)
                )
            ).all()

        # Seat counters: bounded, and the event's are the sums of its ticket types'.
        for ticket_type_id, row in types.items():
            name = f"type {self._index(ticket_type_id)}"
            assert row.sold >= 0 and row.held >= 0, f"{name}: sold {row.sold}, held {row.held}"
            assert row.sold + row.held <= row.quantity, (
                f"{name}: sold {row.sold} + held {row.held} > quantity {row.quantity}"
            )
        types_sold = sum(row.sold for row in types.values())
        types_held = sum(row.held for row in types.values())
        assert event_sold == types_sold, f"event sold {event_sold}, its types sold {types_sold}"
        assert event_held == types_held, f"event held {event_held}, its types held {types_held}"
        assert capacity is None or event_sold + event_held <= capacity, (
            f"event sold {event_sold} + held {event_held} > capacity {capacity}"
        )

        # The counters are the rows: held = seats of pending orders, sold = seats of confirmed
        # orders = valid tickets; a confirmed order has one valid ticket per seat, others none.
        seats: dict[tuple[uuid.UUID, OrderStatus], int] = defaultdict(int)
        seats_of_order: dict[uuid.UUID, list[tuple[uuid.UUID, int]]] = defaultdict(list)
        for order_id, ticket_type_id, quantity in items:
            seats[(ticket_type_id, order_rows[order_id].status)] += quantity
            seats_of_order[order_id].append((ticket_type_id, quantity))
        valid_of_order: dict[uuid.UUID, dict[uuid.UUID, int]] = defaultdict(
            lambda: defaultdict(int)
        )
        valid_of_type: dict[uuid.UUID, int] = defaultdict(int)
        for order_id, ticket_type_id, status, _ in issued:
            if status is TicketStatus.VALID:
                valid_of_order[order_id][ticket_type_id] += 1
                valid_of_type[ticket_type_id] += 1
        for ticket_type_id, row in types.items():
            name = f"type {self._index(ticket_type_id)}"
            pending = seats[(ticket_type_id, OrderStatus.PENDING)]
            confirmed = seats[(ticket_type_id, OrderStatus.CONFIRMED)]
            assert row.held == pending, f"{name}: held {row.held}, pending orders hold {pending}"
            assert row.sold == confirmed, f"{name}: sold {row.sold}, confirmed seats {confirmed}"
            assert valid_of_type[ticket_type_id] == row.sold, (
                f"{name}: sold {row.sold}, {valid_of_type[ticket_type_id]} valid tickets"
            )
        for order_id, order in order_rows.items():
            assert seats_of_order[order_id], f"order {order_id} has no items"
            assert order.total_amount == order.subtotal_amount - order.discount_amount >= 0, order
            tickets_wanted = (
                dict(seats_of_order[order_id]) if order.status is OrderStatus.CONFIRMED else {}
            )
            assert dict(valid_of_order.get(order_id, {})) == tickets_wanted, (
                f"{order.status.value} order {order_id}: valid tickets "
                f"{dict(valid_of_order.get(order_id, {}))}, seats {seats_of_order[order_id]}"
            )
        codes = [code for *_, code in issued]
        assert len(set(codes)) == len(codes), "two tickets share a code"

        # A promo code's uses are the live orders carrying it.
        for promo_id, uses, max_uses in promo_rows:
            live = sum(
                1
                for order in order_rows.values()
                if order.promo_code_id == promo_id
                and order.status in (OrderStatus.PENDING, OrderStatus.CONFIRMED)
            )
            assert uses == live, f"promo uses {uses}, live orders with it {live}"
            assert max_uses is None or uses <= max_uses, (uses, max_uses)

        # Every open offer is a pending order of its user holding exactly its seats.
        offers = [entry for entry in entries if entry.status is WaitlistStatus.OFFERED]
        offer_orders = [offer.order_id for offer in offers]
        assert len(set(offer_orders)) == len(offer_orders), "two offers share an order"
        for offer in offers:
            name = f"offer of type {self._index(offer.ticket_type_id)}"
            order = order_rows.get(offer.order_id)
            assert order is not None, f"{name}: no order"
            assert order.status is OrderStatus.PENDING, f"{name}: order {order.status.value}"
            assert order.user_id == offer.user_id, name
            assert order.expires_at == offer.offer_expires_at, name
            assert seats_of_order[offer.order_id] == [(offer.ticket_type_id, offer.quantity)], (
                f"{name}: wants {offer.quantity}, order holds {seats_of_order[offer.order_id]}"
            )

        left = {
            ticket_type_id: max(
                row.quantity - row.sold - row.held
                if capacity is None
                else min(row.quantity - row.sold - row.held, capacity - event_sold - event_held),
                0,
            )
            for ticket_type_id, row in types.items()
        }
        self.plentiful = sorted(types, key=lambda key: (-left[key], self._index(key)))
        self.scarcest = sorted(types, key=lambda key: (left[key], self._index(key)))
        self._note_choices(order_rows, entries)

    def _note_choices(self, order_rows: dict[uuid.UUID, Any], entries: list[Any]) -> None:
        """Orders the offers made join the known ones, in an order that does not depend on
        random ids (ticket type, then buyer), so that a replay picks the same ones."""
        entries = sorted(entries, key=lambda row: (self._index(row[0]), self._buyer(row[1])))
        known = set(self.orders)
        for entry in entries:
            if entry.order_id is not None and entry.order_id not in known:
                self.orders.append(entry.order_id)
                known.add(entry.order_id)
        assert known == set(order_rows), "an order appeared that no step or offer made"
        self.pending = [
            order_id
            for order_id in self.orders
            if order_rows[order_id].status is OrderStatus.PENDING
        ]
        self.expiry = {order_id: order_rows[order_id].expires_at for order_id in self.pending}
        self.offered = [
            entry.order_id for entry in entries if entry.status is WaitlistStatus.OFFERED
        ]
        self.entries = [(entry.ticket_type_id, entry.user_id) for entry in entries]


def test_inventory_state_machine(settings: Settings) -> None:
    """Runs on each backend of the ``settings`` fixture (SQLite; PostgreSQL when configured);
    the machine owns its event loop and engine, so this test is synchronous."""
    run_state_machine_as_test(lambda: InventoryMachine(settings), settings=MACHINE_SETTINGS)
