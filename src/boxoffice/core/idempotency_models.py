from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.core.timestamps import utcnow
from boxoffice.db.base import Base, IdMixin


class IdempotencyRecord(IdMixin, Base):
    """One ``Idempotency-Key`` of one caller: the request it was first used with and, once that
    request finished, its response. ``status_code`` is NULL while the first request runs."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("caller", "key", name="uq_idempotency_keys_caller_key"),)

    caller: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    media_type: Mapped[str | None] = mapped_column(String(64))
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
