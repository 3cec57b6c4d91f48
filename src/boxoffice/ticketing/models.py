from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.core.timestamps import utcnow
from boxoffice.db.base import Base, IdMixin, TimestampMixin


class TicketType(IdMixin, TimestampMixin, Base):
    """A kind of ticket with its own inventory counters.

    ``sold`` and ``held`` only ever change through single conditional UPDATE statements so that
    ``sold + held <= quantity`` holds under any concurrency (DESIGN.md invariant 1).
    """

    __tablename__ = "ticket_types"
    __table_args__ = (
        Index("ix_ticket_types_event_id_price_amount", "event_id", "price_amount"),
        CheckConstraint("price_amount >= 0", name="price_not_negative"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("sold >= 0 AND held >= 0", name="counters_not_negative"),
        CheckConstraint("sold + held <= quantity", name="no_oversell"),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    price_amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[int]
    sold: Mapped[int] = mapped_column(default=0)
    held: Mapped[int] = mapped_column(default=0)
    sales_start: Mapped[datetime | None]
    sales_end: Mapped[datetime | None]
    max_per_order: Mapped[int] = mapped_column(default=10)

    @property
    def available(self) -> int:
        """Seats left of this type alone; the event's capacity may leave fewer (see
        ticketing.inventory.available_seats)."""
        return max(self.quantity - self.sold - self.held, 0)


def _string_enum(enum: type[StrEnum], length: int = 16) -> Enum:
    return Enum(
        enum,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


class OrderStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class PaymentStatus(StrEnum):
    NONE = "none"  # nothing taken yet (or a free order)
    REQUIRES_PAYMENT = "requires_payment"  # a provider payment exists, waiting for the buyer
    AUTHORIZED = "authorized"  # money reserved on the card, not captured
    CAPTURED = "captured"
    VOIDED = "voided"  # an authorization released without charging
    REFUNDED = "refunded"


class Order(IdMixin, TimestampMixin, Base):
    """A buyer's order. ``pending`` orders hold seats until ``expires_at``.

    Every status change is one conditional UPDATE on ``status`` (see ticketing/orders.py), so a
    hold is released exactly once and a paid order never loses its seats.
    """

    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_event_id_created_at_id", "event_id", "created_at", "id"),
        Index("ix_orders_user_id_created_at_id", "user_id", "created_at", "id"),
        # An event's buyers in user order: the batches of a notice to every ticket holder.
        Index("ix_orders_event_id_user_id", "event_id", "user_id"),
        Index("ix_orders_status_expires_at", "status", "expires_at"),
        CheckConstraint("discount_amount >= 0", name="discount_not_negative"),
        CheckConstraint("total_amount >= 0", name="total_not_negative"),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[OrderStatus] = mapped_column(_string_enum(OrderStatus))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_amount: Mapped[int]
    discount_amount: Mapped[int] = mapped_column(default=0)
    total_amount: Mapped[int]
    promo_code_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("promo_codes.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    payment_provider: Mapped[str | None] = mapped_column(String(16))
    payment_status: Mapped[PaymentStatus] = mapped_column(
        _string_enum(PaymentStatus, 20), default=PaymentStatus.NONE
    )
    # The provider's id of the payment (a Stripe PaymentIntent id, a test charge id).
    payment_reference: Mapped[str | None] = mapped_column(String(255), index=True)
    payment_client_secret: Mapped[str | None] = mapped_column(String(255))
    # Deterministic per order, forwarded to the provider so a retry never pays twice.
    payment_idempotency_key: Mapped[str | None] = mapped_column(String(100))


class OrderItem(IdMixin, Base):
    __tablename__ = "order_items"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    ticket_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket_types.id", ondelete="CASCADE"), index=True
    )
    quantity: Mapped[int]
    unit_amount: Mapped[int]
    discount_amount: Mapped[int] = mapped_column(default=0)


class TicketStatus(StrEnum):
    VALID = "valid"
    VOID = "void"


class Ticket(IdMixin, Base):
    """One seat of a confirmed order. ``code`` is 160 random bits (what the QR code carries)."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_event_id_attendee_name_id", "event_id", "attendee_name", "id"),
        Index("ix_tickets_holder_id_created_at_id", "holder_id", "created_at", "id"),
    )

    code: Mapped[str] = mapped_column(String(64), unique=True)
    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    ticket_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket_types.id", ondelete="CASCADE")
    )
    holder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    attendee_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[TicketStatus] = mapped_column(
        _string_enum(TicketStatus), default=TicketStatus.VALID
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_in_at: Mapped[datetime | None]
    checked_in_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    voided_at: Mapped[datetime | None]


class PromoCode(IdMixin, TimestampMixin, Base):
    """A discount for one event. ``uses`` counts live orders (pending or confirmed) that used the
    code and only changes through conditional UPDATEs, so ``max_uses`` holds under concurrency."""

    __tablename__ = "promo_codes"
    __table_args__ = (
        UniqueConstraint("event_id", "code", name="uq_promo_codes_event_id_code"),
        CheckConstraint(
            "(percent_off IS NULL) <> (amount_off IS NULL)", name="exactly_one_discount"
        ),
        CheckConstraint("uses >= 0", name="uses_not_negative"),
        CheckConstraint("max_uses IS NULL OR uses <= max_uses", name="never_over_used"),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    # Stored upper-case: codes are matched case-insensitively.
    code: Mapped[str] = mapped_column(String(40))
    percent_off: Mapped[int | None]
    amount_off: Mapped[int | None]
    ticket_type_ids: Mapped[list[str] | None] = mapped_column(JSON)
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    max_uses: Mapped[int | None]
    uses: Mapped[int] = mapped_column(default=0)


class WaitlistStatus(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    CLAIMED = "claimed"
    EXPIRED = "expired"


class WaitlistEntry(IdMixin, Base):
    """A place in a sold-out ticket type's queue; first come, first offered."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        UniqueConstraint(
            "ticket_type_id", "user_id", name="uq_waitlist_entries_ticket_type_id_user_id"
        ),
        Index(
            "ix_waitlist_entries_ticket_type_id_status_joined_at",
            "ticket_type_id",
            "status",
            "joined_at",
            "id",
        ),
        Index("ix_waitlist_entries_user_id", "user_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    ticket_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket_types.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    quantity: Mapped[int]
    status: Mapped[WaitlistStatus] = mapped_column(_string_enum(WaitlistStatus))
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    offer_expires_at: Mapped[datetime | None]
