"""What a job runs with: the settings and the process's database, cache and mailer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from boxoffice.config import Settings
from boxoffice.core.cache import Cache
from boxoffice.db.engine import Database
from boxoffice.db.session import take_changes
from boxoffice.observability.logging import get_logger

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from boxoffice.notifications.transport import Mailer
    from boxoffice.payments.registry import PaymentProviders

_log = get_logger("boxoffice.jobs")


@dataclass(slots=True)
class JobContext:
    settings: Settings
    database: Database
    cache: Cache
    _mailer: Mailer | None = field(default=None)
    _payments: PaymentProviders | None = field(default=None)

    @property
    def mailer(self) -> Mailer:
        if self._mailer is None:
            from boxoffice.notifications.transport import create_mailer  # noqa: PLC0415

            self._mailer = create_mailer(self.settings)
        return self._mailer

    @property
    def payments(self) -> PaymentProviders:
        if self._payments is None:
            from boxoffice.payments.registry import PaymentProviders  # noqa: PLC0415

            self._payments = PaymentProviders(self.settings)
        return self._payments

    async def after_commit(self, session: AsyncSession) -> None:
        """Bump the cache topics a job's committed transaction recorded."""
        topics = take_changes(session)
        if topics:
            try:
                await self.cache.bump(*sorted(topics))
            except Exception as exc:
                _log.warning("cache invalidation failed", topics=sorted(topics), error=repr(exc))
