from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field, Strict, StringConstraints

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
