"""Tenant scoping in one place: a member's role decides, outsiders see nothing (404)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.auth import Claims
from boxoffice.core.access import access_policy
from boxoffice.core.errors import Problem
from boxoffice.core.ids import parse_id
from boxoffice.db.session import WriteSession
from boxoffice.organizations.errors import InsufficientRole, OrganizationNotFound
from boxoffice.organizations.models import Membership, Role


@dataclass(frozen=True, slots=True)
class OrgAccess:
    organization_id: uuid.UUID
    user_id: uuid.UUID
    role: Role


async def role_in(
    session: AsyncSession, *, organization_id: uuid.UUID, user_id: uuid.UUID
) -> Role | None:
    result = await session.execute(
        select(Membership.role).where(
            Membership.organization_id == organization_id, Membership.user_id == user_id
        )
    )
    return result.scalar_one_or_none()


async def authorize(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    minimum: Role,
    not_found: Problem,
    publicly_visible: bool = False,
) -> OrgAccess:
    """Raise ``not_found`` for non-members and 403 for members whose role is too low.

    ``publicly_visible``: the resource is public (a published event), so its existence is no
    secret and an outsider's attempt to change it is a plain 403.
    """
    role = await role_in(session, organization_id=organization_id, user_id=user_id)
    if role is None:
        if publicly_visible:
            raise InsufficientRole("only members of the organizing organization may do this")
        raise not_found
    if not role.includes(minimum):
        raise InsufficientRole(f"needs the {minimum.value} role or higher; you are {role.value}")
    return OrgAccess(organization_id=organization_id, user_id=user_id, role=role)


def org_member(minimum: Role) -> Callable[..., Awaitable[OrgAccess]]:
    """Dependency for routes under ``/organizations/{org_id}``."""

    @access_policy(f"organization:{minimum.value}")
    async def dependency(
        org_id: Annotated[str, Path(description="Organization id")],
        claims: Claims,
        session: WriteSession,
    ) -> OrgAccess:
        organization_id = parse_id(org_id, OrganizationNotFound())
        return await authorize(
            session,
            organization_id=organization_id,
            user_id=claims.user_id,
            minimum=minimum,
            not_found=OrganizationNotFound(),
        )

    return dependency


OrgStaff = Annotated[OrgAccess, Depends(org_member(Role.STAFF))]
OrgAdmin = Annotated[OrgAccess, Depends(org_member(Role.ADMIN))]
OrgOwner = Annotated[OrgAccess, Depends(org_member(Role.OWNER))]
