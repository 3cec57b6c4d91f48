"""Organizations and their members."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import User
from boxoffice.accounts.service import get_user_by_email
from boxoffice.core.errors import Forbidden
from boxoffice.core.text import slugify
from boxoffice.db.locking import lock_row
from boxoffice.db.session import record_change
from boxoffice.events.caching import CATALOG
from boxoffice.organizations.access import OrgAccess
from boxoffice.organizations.errors import (
    AlreadyMember,
    LastOwner,
    MemberNotFound,
    OrganizationNotFound,
    UserNotFound,
)
from boxoffice.organizations.models import Membership, Organization, Role
from boxoffice.search.indexer import index_organization


async def create_organization(
    session: AsyncSession, *, name: str, owner_id: uuid.UUID, now: datetime
) -> Organization:
    base = slugify(name, max_length=80) or "org"
    for attempt in range(5):
        slug = base if attempt == 0 else f"{base[:70]}-{secrets.token_hex(3)}"
        organization = Organization(name=name, slug=slug, created_at=now, updated_at=now)
        try:
            async with session.begin_nested():
                session.add(organization)
                await session.flush()
        except IntegrityError:
            continue
        session.add(
            Membership(
                organization_id=organization.id, user_id=owner_id, role=Role.OWNER, created_at=now
            )
        )
        await session.flush()
        return organization
    raise RuntimeError("could not find a free slug")  # pragma: no cover - 5 random collisions


async def get_organization(session: AsyncSession, organization_id: uuid.UUID) -> Organization:
    organization = await session.get(Organization, organization_id)
    if organization is None:
        raise OrganizationNotFound()
    return organization


async def list_my_organizations(
    session: AsyncSession, *, user_id: uuid.UUID, limit: int, after: tuple[Any, ...] | None
) -> list[tuple[Organization, Role]]:
    """The user's organizations by name; ``after`` is the (name, id) of the last one seen."""
    query = (
        select(Organization, Membership.role)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user_id)
        .order_by(Organization.name, Organization.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(tuple_(Organization.name, Organization.id) > after)
    result = await session.execute(query)
    return [(organization, role) for organization, role in result]


async def rename_organization(
    session: AsyncSession, *, organization_id: uuid.UUID, name: str
) -> Organization:
    organization = await get_organization(session, organization_id)
    renamed = organization.name != name
    organization.name = name
    await session.flush()
    if renamed:
        await index_organization(session, organization_id)  # documents hold organizer names
    record_change(session, CATALOG)
    return organization


async def list_members(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    limit: int,
    after: tuple[Any, ...] | None,
) -> list[tuple[Membership, User]]:
    """Members in joining order; ``after`` is the (created_at, user_id) of the last one seen."""
    query = (
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == organization_id)
        .order_by(Membership.created_at, Membership.user_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(tuple_(Membership.created_at, Membership.user_id) > after)
    result = await session.execute(query)
    return [(membership, user) for membership, user in result]


async def add_member(
    session: AsyncSession, *, access: OrgAccess, email: str, role: Role, now: datetime
) -> tuple[Membership, User]:
    user = await get_user_by_email(session, email)
    if user is None:
        raise UserNotFound(f"no account uses {email}; ask them to register first")
    membership = Membership(
        organization_id=access.organization_id, user_id=user.id, role=role, created_at=now
    )
    try:
        async with session.begin_nested():
            session.add(membership)
            await session.flush()
    except IntegrityError as exc:
        raise AlreadyMember(f"{email} is already a member") from exc
    return membership, user


async def change_role(
    session: AsyncSession, *, access: OrgAccess, user_id: uuid.UUID, role: Role
) -> tuple[Membership, User]:
    membership, user = await _member(session, access.organization_id, user_id)
    touches_owner = Role.OWNER in (membership.role, role)
    if touches_owner and access.role is not Role.OWNER:
        raise Forbidden("only an owner can grant or take away the owner role")
    if membership.role is Role.OWNER and role is not Role.OWNER:
        await _keep_an_owner(session, access.organization_id)
    membership.role = role
    await session.flush()
    return membership, user


async def remove_member(session: AsyncSession, *, access: OrgAccess, user_id: uuid.UUID) -> None:
    membership, _ = await _member(session, access.organization_id, user_id)
    if membership.role is Role.OWNER:
        if access.role is not Role.OWNER:
            raise Forbidden("only an owner can remove an owner")
        await _keep_an_owner(session, access.organization_id)
    await session.delete(membership)
    await session.flush()


async def _member(
    session: AsyncSession, organization_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[Membership, User]:
    result = await session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == organization_id, Membership.user_id == user_id)
    )
    row = result.one_or_none()
    if row is None:
        raise MemberNotFound()
    membership, user = row
    return membership, user


async def _keep_an_owner(session: AsyncSession, organization_id: uuid.UUID) -> None:
    # Two owners demoting or removing each other at once must not both see "another owner left".
    await lock_row(session, Organization, organization_id)
    owners = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.organization_id == organization_id, Membership.role == Role.OWNER)
    )
    if (owners or 0) <= 1:
        raise LastOwner()
