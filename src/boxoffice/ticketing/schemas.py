from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field, Strict, StringConstraints, model_validator

from boxoffice.core.money import Amount, CurrencyCode
from boxoffice.core.schemas import InputModel, OutputModel
from boxoffice.core.timestamps import Timestamp

TicketTypeName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)
]
Quantity = Annotated[int, Strict(), Field(ge=1, le=1_000_000)]
MaxPerOrder = Annotated[int, Strict(), Field(ge=1, le=100)]


class TicketTypeCreate(InputModel):
    name: TicketTypeName
    price_amount: Amount
    currency: CurrencyCode
    quantity: Quantity
    sales_start: Timestamp | None = None
    sales_end: Timestamp | None = None
    max_per_order: MaxPerOrder = 10


class TicketTypeUpdate(InputModel):
    name: TicketTypeName | None = None
    price_amount: Amount | None = None
    currency: CurrencyCode | None = None
    quantity: Quantity | None = None
    sales_start: Timestamp | None = None
    sales_end: Timestamp | None = None
    max_per_order: MaxPerOrder | None = None


class TicketTypeRead(OutputModel):
    id: uuid.UUID
    event_id: uuid.UUID
    name: str
    price_amount: int
    currency: str
    quantity: int
    available: int
    sales_start: Timestamp | None
    sales_end: Timestamp | None
    max_per_order: int
    created_at: Timestamp


class OrderLineIn(InputModel):
    ticket_type_id: uuid.UUID
    quantity: Annotated[int, Strict(), Field(ge=1, le=100)]


PromoCodeText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)
]


class OrderCreate(InputModel):
    items: Annotated[list[OrderLineIn], Field(min_length=1, max_length=20)]
    promo_code: PromoCodeText | None = None


class PaymentMethodIn(InputModel):
    type: Literal["test_card", "stripe"]
    number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None


class PayBody(InputModel):
    payment_method: PaymentMethodIn | None = None


class OrderItemRead(OutputModel):
    ticket_type_id: uuid.UUID
    quantity: int
    unit_amount: int
    discount_amount: int


class TicketRead(OutputModel):
    id: uuid.UUID
    code: str
    ticket_type_id: uuid.UUID
    event_id: uuid.UUID
    order_id: uuid.UUID
    attendee_name: str
    status: Literal["valid", "void"]
    checked_in_at: Timestamp | None


class PaymentRead(OutputModel):
    provider: str | None
    status: str
    client_secret: str | None = None


class OrderRead(OutputModel):
    id: uuid.UUID
    event_id: uuid.UUID
    status: Literal["pending", "confirmed", "cancelled", "expired"]
    items: list[OrderItemRead]
    subtotal_amount: int
    discount_amount: int
    total_amount: int
    currency: str
    promo_code: str | None
    expires_at: Timestamp
    created_at: Timestamp
    confirmed_at: Timestamp | None
    cancelled_at: Timestamp | None
    cancel_reason: str | None
    payment: PaymentRead
    tickets: list[TicketRead]


class PromoCodeCreate(InputModel):
    code: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=3, max_length=40, pattern=r"^[A-Za-z0-9_-]+$"
        ),
    ]
    percent_off: Annotated[int, Strict(), Field(ge=1, le=100)] | None = None
    amount_off: Annotated[int, Strict(), Field(ge=1, le=100_000_000)] | None = None
    ticket_type_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=100)] | None = None
    valid_from: Timestamp | None = None
    valid_until: Timestamp | None = None
    max_uses: Annotated[int, Strict(), Field(ge=1, le=10_000_000)] | None = None

    @model_validator(mode="after")
    def _exactly_one_discount(self) -> PromoCodeCreate:
        if (self.percent_off is None) == (self.amount_off is None):
            raise ValueError("give exactly one of percent_off or amount_off")
        return self


class PromoCodeRead(OutputModel):
    id: uuid.UUID
    event_id: uuid.UUID
    code: str
    percent_off: int | None
    amount_off: int | None
    ticket_type_ids: list[uuid.UUID] | None
    valid_from: Timestamp | None
    valid_until: Timestamp | None
    max_uses: int | None
    uses: int
    created_at: Timestamp


class WaitlistJoin(InputModel):
    quantity: Annotated[int, Strict(), Field(ge=1, le=100)] = 1


class WaitlistPlaceRead(OutputModel):
    ticket_type_id: uuid.UUID
    event_id: uuid.UUID
    quantity: int
    status: Literal["waiting", "offered", "claimed", "expired"]
    position: int | None
    joined_at: Timestamp
    offer_expires_at: Timestamp | None
    order_id: uuid.UUID | None


# --- tickets in the holder's hands, check-in at the door, organizer views ----------------------

TicketCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class HeldTicketRead(TicketRead):
    """A ticket with what its holder needs to find the event (``GET /me/tickets``, ``GET
    /tickets/{id}``)."""

    event_title: str
    event_starts_at: Timestamp
    event_ends_at: Timestamp
    event_timezone: str
    ticket_type_name: str
    created_at: Timestamp


class CheckInCreate(InputModel):
    code: TicketCode


class CheckInRead(OutputModel):
    ticket_id: uuid.UUID
    attendee_name: str
    ticket_type_id: uuid.UUID
    checked_in_at: Timestamp


class ScanIn(InputModel):
    code: TicketCode
    scanned_at: Timestamp


MAX_BATCH_SCANS = 5000


class CheckInBatchCreate(InputModel):
    scans: Annotated[list[ScanIn], Field(min_length=1, max_length=MAX_BATCH_SCANS)]


class AcceptedScanRead(OutputModel):
    code: str
    ticket_id: uuid.UUID
    checked_in_at: Timestamp


class DuplicateScanRead(OutputModel):
    code: str
    checked_in_at: Timestamp


class CheckInBatchRead(OutputModel):
    accepted: list[AcceptedScanRead]
    duplicates: list[DuplicateScanRead]
    unknown: list[str]


class CheckInListItemRead(OutputModel):
    ticket_id: uuid.UUID
    code: str
    attendee_name: str
    ticket_type_id: uuid.UUID
    status: Literal["valid", "void"]
    checked_in_at: Timestamp | None


class CheckInListRead(OutputModel):
    data: list[CheckInListItemRead]


class AttendeeRead(OutputModel):
    ticket_id: uuid.UUID
    attendee_name: str
    buyer_email: str | None
    ticket_type_id: uuid.UUID
    ticket_type_name: str
    status: Literal["valid", "void"]
    checked_in_at: Timestamp | None
    order_id: uuid.UUID


class TicketTypeSalesRead(OutputModel):
    ticket_type_id: uuid.UUID
    name: str
    price_amount: int
    quantity: int
    sold: int
    held: int
    available: int
    revenue_amount: int
    currency: str


class OrderCountsRead(OutputModel):
    pending: int
    confirmed: int
    cancelled: int
    expired: int


class EventSalesTotalsRead(OutputModel):
    capacity: int | None
    quantity: int
    sold: int
    held: int
    available: int
    revenue_amount: int
    currency: str | None
    tickets_valid: int
    tickets_void: int
    checked_in: int
    orders: OrderCountsRead


class SalesReportRead(OutputModel):
    event_id: uuid.UUID
    ticket_types: list[TicketTypeSalesRead]
    totals: EventSalesTotalsRead
    generated_at: Timestamp
