"""Imports every domain's models so the metadata is complete (for Alembic and create_all)."""

from boxoffice.accounts.models import RefreshToken, User
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
    "Base",
    "DeadJob",
    "EmailDelivery",
    "Event",
    "IdempotencyRecord",
    "Membership",
    "Order",
    "OrderItem",
    "Organization",
    "OutboxMessage",
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
