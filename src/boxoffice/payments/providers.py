"""One interface over the ways an order is paid.

* ``free`` — nothing to pay; the order confirms at once.
* ``test`` — a simulated card processor for demos and tests: ``4242424242424242`` succeeds,
  ``4000000000000002`` is declined, ``4000000000009995`` has insufficient funds, any other
  number is declined. Refunds always succeed. No money moves and nothing leaves the process.
* ``stripe`` — a PaymentIntent per order, authorized first and captured only once the seats
  are certainly the buyer's (payments/stripe.py).

Every call that reaches a provider carries a deterministic idempotency key derived from the
order (``order:<id>:<operation>``), so a retry — of a request, a job or a webhook — can never
charge, capture or refund twice.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from boxoffice.ticketing.errors import InsufficientFunds, PaymentRequired


class PaymentState(StrEnum):
    CAPTURED = "captured"  # the money is taken: confirm the order
    REQUIRES_ACTION = "requires_action"  # the buyer completes it (Stripe's client_secret)


@dataclass(frozen=True, slots=True)
class PaymentAttempt:
    """What a provider needs to know of an order."""

    order_id: uuid.UUID
    amount: int
    currency: str
    reference: str | None  # the provider's payment id, once one exists


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    state: PaymentState
    reference: str
    client_secret: str | None = None


def idempotency_key(order_id: uuid.UUID, operation: str) -> str:
    return f"order:{order_id}:{operation}"


class PaymentProvider(Protocol):
    name: str

    async def pay(self, attempt: PaymentAttempt, method: dict[str, Any]) -> PaymentOutcome:
        """Charge, or start a payment the buyer completes; raise PaymentRequired if declined."""
        ...

    async def refund(self, attempt: PaymentAttempt) -> None: ...

    async def void(self, attempt: PaymentAttempt) -> None:
        """Release an authorization that was never captured."""
        ...


SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000002"
INSUFFICIENT_FUNDS = "4000000000009995"


class TestCardProvider:
    """The built-in simulated card processor."""

    name = "test"

    async def pay(self, attempt: PaymentAttempt, method: dict[str, Any]) -> PaymentOutcome:
        number = str(method.get("number", "")).replace(" ", "")
        if number == INSUFFICIENT_FUNDS:
            raise InsufficientFunds("the test card has insufficient funds", decline_code=number)
        if number != SUCCEEDS:
            raise PaymentRequired("the test card was declined", decline_code="card_declined")
        return PaymentOutcome(PaymentState.CAPTURED, reference=f"test_{secrets.token_hex(12)}")

    async def refund(self, attempt: PaymentAttempt) -> None:
        return None

    async def void(self, attempt: PaymentAttempt) -> None:
        return None


class FreeProvider:
    name = "free"

    async def pay(self, attempt: PaymentAttempt, method: dict[str, Any]) -> PaymentOutcome:
        return PaymentOutcome(PaymentState.CAPTURED, reference="free")

    async def refund(self, attempt: PaymentAttempt) -> None:
        return None

    async def void(self, attempt: PaymentAttempt) -> None:
        return None
