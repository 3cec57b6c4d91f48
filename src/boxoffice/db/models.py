"""Imports every domain's models so the metadata is complete (for Alembic and create_all)."""

from boxoffice.accounts.models import RefreshToken, User
from boxoffice.db.base import Base
from boxoffice.events.models import Event
from boxoffice.organizations.models import Membership, Organization
from boxoffice.ticketing.models import TicketType

__all__ = ["Base", "Event", "Membership", "Organization", "RefreshToken", "TicketType", "User"]
