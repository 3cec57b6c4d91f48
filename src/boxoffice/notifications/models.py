from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.core.timestamps import utcnow
from boxoffice.db.base import Base, IdMixin


class EmailDelivery(IdMixin, Base):
    """One e-mail we owe someone, recorded under a key that names it (``order-confirmed:<id>``),
    so a redelivered job sends nothing twice.

    ``status`` is ``sending`` while a worker holds the claim (until ``claimed_until``) and
    ``sent`` once the SMTP server accepted it. A worker killed between the server's acceptance
    and the ``sent`` update leaves a ``sending`` claim that runs out; the retry sends the same
    ``message_id``, so the rare duplicate is recognisable as one.
    """

    __tablename__ = "email_deliveries"

    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(50))
    recipient: Mapped[str] = mapped_column(String(320))
    message_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(10), default="sending")
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
