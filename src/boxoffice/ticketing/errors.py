from __future__ import annotations

import uuid

from boxoffice.core.errors import Conflict, NotFound, Problem


class TicketTypeNotFound(NotFound):
    slug = "ticket-type-not-found"
    title = "Ticket type not found"


class QuantityBelowCommitted(Conflict):
    slug = "quantity-below-committed"
    title = "Quantity cannot drop below the tickets already sold or held"


class SoldOut(Conflict):
    slug = "sold-out"
    title = "Sold out"

    @classmethod
    def for_ticket_type(cls, ticket_type_id: uuid.UUID, available: int) -> SoldOut:
        return cls(
            f"not enough seats left of ticket type {ticket_type_id} ({available} available)",
            ticket_type_id=str(ticket_type_id),
            available=available,
        )

    @classmethod
    def for_event(cls, event_id: uuid.UUID) -> SoldOut:
        return cls("the event's capacity is reached", event_id=str(event_id), ticket_type_id=None)


class OrderNotFound(NotFound):
    slug = "order-not-found"
    title = "Order not found"


class TicketNotFound(NotFound):
    slug = "ticket-not-found"
    title = "Ticket not found"


class OrderExpired(Conflict):
    slug = "order-expired"
    title = "The order's hold has expired"


class OrderNotPending(Conflict):
    slug = "order-not-pending"
    title = "The order is not waiting for payment"


class OrderNotCancellable(Conflict):
    slug = "order-not-cancellable"
    title = "The order cannot be cancelled"


class PaymentRequired(Problem):
    status = 402
    slug = "payment-declined"
    title = "Payment declined"


class InsufficientFunds(PaymentRequired):
    slug = "insufficient-funds"
    title = "Insufficient funds"


class PaymentProviderUnavailable(Problem):
    status = 502
    slug = "payment-provider-error"
    title = "The payment provider did not answer as expected"


class AlreadyCheckedIn(Conflict):
    slug = "already-checked-in"
    title = "Ticket already checked in"


class PromoCodeTaken(Conflict):
    slug = "promo-code-exists"
    title = "This event already has that promo code"


class NotSoldOut(Conflict):
    slug = "not-sold-out"
    title = "Tickets are still available"


class AlreadyOnWaitlist(Conflict):
    slug = "already-on-waitlist"
    title = "Already on the waiting list"


class NotOnWaitlist(NotFound):
    slug = "not-on-waitlist"
    title = "Not on the waiting list"
