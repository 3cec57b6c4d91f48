from __future__ import annotations

import uuid
from datetime import date

from boxoffice.core.schemas import OutputModel
from boxoffice.core.timestamps import Timestamp


class SalesDayRead(OutputModel):
    day: date
    ticket_type_id: uuid.UUID
    sold: int
    cancelled: int
    revenue: int
    refunds: int
    checked_in: int


class SalesDailyRead(OutputModel):
    event_id: uuid.UUID
    timezone: str
    currency: str | None
    refreshed_at: Timestamp | None
    data: list[SalesDayRead]
