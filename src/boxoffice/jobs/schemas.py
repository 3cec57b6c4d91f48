from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class DeadJobSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    job: str
    queue: str
    error: str
    retries: int
    failed_at: datetime
    request_id: str | None
    requeued_at: datetime | None
    requeued_as: uuid.UUID | None


class DeadJobRead(DeadJobSummary):
    payload: dict[str, Any]
    traceback: str
    outbox_id: uuid.UUID | None


class RequeuedJob(BaseModel):
    id: uuid.UUID
    requeued_as: uuid.UUID


class PurgedJobs(BaseModel):
    purged: int
