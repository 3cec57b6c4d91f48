"""Imports every domain's models so the metadata is complete (for Alembic and create_all)."""

from boxoffice.accounts.models import PasswordReset, RefreshToken, User
from boxoffice.analytics.models import AnalyticsState, EventSalesDaily
from boxoffice.core.idempotency_models import IdempotencyRecord
from boxoffice.db.base import Base
from boxoffice.events.models import Event
from boxoffice.jobs.models import DeadJob, OutboxMessage, PeriodicRun, SchedulerLease
from boxoffice.notifications.models import EmailDelivery
from boxoffice.organizations.models import Membership, Organization
from boxoffice.payments.models import ProviderEvent
from boxoffice.ticketing.models import (
    Order,
    OrderItem,
    PromoCode,
    Ticket,
    TicketType,
    WaitlistEntry,
)

__all__ = [
    "AnalyticsState",
    "Base",
    "DeadJob",
    "EmailDelivery",
    "Event",
    "EventSalesDaily",
    "IdempotencyRecord",
    "Membership",
    "Order",
    "OrderItem",
    "Organization",
    "OutboxMessage",
    "PasswordReset",
    "PeriodicRun",
    "PromoCode",
    "ProviderEvent",
    "RefreshToken",
    "SchedulerLease",
    "Ticket",
    "TicketType",
    "User",
    "WaitlistEntry",
]
