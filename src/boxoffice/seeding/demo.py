"""``boxoffice seed --demo``: demo organizations, an organizer account and published events.

Safe to run twice: an organization whose slug already exists keeps its events and gets no new
ones. The demo organizer signs in as ``DEMO_EMAIL`` / ``DEMO_PASSWORD`` (documented in README).
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import datetime

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import User
from boxoffice.accounts.passwords import hash_password
from boxoffice.config import Settings
from boxoffice.core.progress import progress_bar
from boxoffice.core.timestamps import utcnow
from boxoffice.db.engine import create_database
from boxoffice.events.models import Event, EventStatus
from boxoffice.organizations.models import Membership, Organization, Role
from boxoffice.search.rebuild import rebuild_index
from boxoffice.seeding.catalog import (
    DEMO_ORGANIZATIONS,
    DemoEvent,
    DemoOrganization,
    assign_organization,
    generate_events,
)
from boxoffice.seeding.demo_sales import seed_demo_sales
from boxoffice.ticketing.models import TicketType

DEMO_EMAIL = "demo@boxoffice.example"
DEMO_PASSWORD = "boxoffice-demo-2026"  # noqa: S105 - a published demo credential
DEMO_SEED = 2026
BATCH_SIZE = 50


async def _demo_owner(session: AsyncSession, now: datetime) -> User:
    user = await session.scalar(select(User).where(User.email == DEMO_EMAIL))
    if user is None:
        user = User(
            email=DEMO_EMAIL,
            name="Demo Organizer",
            password_hash=hash_password(DEMO_PASSWORD),
            created_at=now,
            updated_at=now,
        )
        session.add(user)
        await session.flush()
    return user


async def _new_organizations(
    session: AsyncSession, owner: User, now: datetime
) -> dict[str, uuid.UUID]:
    """Create the demo organizations that don't exist yet; return slug → id of the new ones."""
    existing = set(
        await session.scalars(
            select(Organization.slug).where(
                Organization.slug.in_([org.slug for org in DEMO_ORGANIZATIONS])
            )
        )
    )
    created: dict[str, uuid.UUID] = {}
    for demo in DEMO_ORGANIZATIONS:
        if demo.slug in existing:
            continue
        organization = Organization(name=demo.name, slug=demo.slug, created_at=now, updated_at=now)
        session.add(organization)
        await session.flush()
        session.add(
            Membership(
                organization_id=organization.id, user_id=owner.id, role=Role.OWNER, created_at=now
            )
        )
        created[demo.slug] = organization.id
    return created


def _rows(demo: DemoEvent, organization_id: uuid.UUID, now: datetime) -> list[object]:
    event = Event(
        id=uuid.uuid4(),
        organization_id=organization_id,
        title=demo.title,
        description=demo.description,
        category=demo.category,
        tags=list(demo.tags),
        starts_at=demo.starts_at,
        ends_at=demo.ends_at,
        timezone=demo.timezone,
        status=EventStatus.PUBLISHED,
        venue_name=demo.venue_name,
        venue_address=demo.venue_address,
        city=demo.city,
        country=demo.country,
        lat=demo.lat,
        lon=demo.lon,
        online_url=demo.online_url,
        published_at=now,
        created_at=now,
        updated_at=now,
    )
    ticket_types = [
        TicketType(
            event_id=event.id,
            name=ticket.name,
            price_amount=ticket.price_amount,
            currency=ticket.currency,
            quantity=ticket.quantity,
            max_per_order=ticket.max_per_order,
            created_at=now,
            updated_at=now,
        )
        for ticket in demo.ticket_types
    ]
    return [event, *ticket_types]


async def seed_demo(settings: Settings, *, event_count: int, only_if_empty: bool) -> int:
    """Load the demo data; returns how many events were created."""
    database = create_database(settings)
    now = utcnow()
    try:
        async with database.write_sessions() as session:
            async with session.begin():
                if only_if_empty and await session.scalar(select(func.count()).select_from(Event)):
                    return 0
                owner = await _demo_owner(session, now)
                organizations = await _new_organizations(session, owner, now)
            if not organizations:
                return 0
            targets: list[DemoOrganization] = [
                org for org in DEMO_ORGANIZATIONS if org.slug in organizations
            ]
            plan: dict[str, list[DemoEvent]] = defaultdict(list)
            rng = random.Random(DEMO_SEED)  # noqa: S311 - reproducible demo data, not secrets
            for demo in generate_events(rng, now=now, count=event_count):
                plan[assign_organization(demo, DEMO_ORGANIZATIONS).slug].append(demo)
            work = [(demo, organizations[org.slug]) for org in targets for demo in plan[org.slug]]
            with Progress(
                TextColumn("seeding demo events"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
            ) as progress:
                task = progress.add_task("events", total=len(work))
                for start in range(0, len(work), BATCH_SIZE):
                    batch = work[start : start + BATCH_SIZE]
                    async with session.begin():
                        for demo, organization_id in batch:
                            session.add_all(_rows(demo, organization_id, now))
                    progress.advance(task, len(batch))
            # The rows were written directly, not through the services: index them in one go.
            with progress_bar("indexing events") as indexing:
                await rebuild_index(database, progress=indexing)
            await seed_demo_sales(database, password=DEMO_PASSWORD, seed=DEMO_SEED)
            return len(work)
    finally:
        await database.dispose()
