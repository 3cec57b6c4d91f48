"""/organizations and their members."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from boxoffice.accounts.auth import CurrentUser
from boxoffice.accounts.models import User
from boxoffice.core.ids import parse_id
from boxoffice.core.pagination import Page, PageOf, decode_key, encode_key
from boxoffice.core.routing import API_PREFIX
from boxoffice.core.timestamps import parse_aware_iso, utcnow
from boxoffice.db.session import WriteSession
from boxoffice.organizations import service
from boxoffice.organizations.access import OrgAdmin, OrgStaff
from boxoffice.organizations.errors import MemberNotFound
from boxoffice.organizations.models import Membership, Role
from boxoffice.organizations.schemas import (
    MemberAdd,
    MemberRead,
    MemberUpdate,
    MyOrganizationRead,
    OrganizationCreate,
    OrganizationRead,
    OrganizationUpdate,
)

router = APIRouter(prefix=API_PREFIX, tags=["organizations"])


def _member_read(membership: Membership, user: User) -> MemberRead:
    return MemberRead(
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=membership.role,
        created_at=membership.created_at,
    )


@router.post(
    "/organizations",
    status_code=status.HTTP_201_CREATED,
    summary="Create an organization; the caller becomes its owner",
)
async def create_organization(
    body: OrganizationCreate, user: CurrentUser, session: WriteSession
) -> MyOrganizationRead:
    organization = await service.create_organization(
        session, name=body.name, owner_id=user.id, now=utcnow()
    )
    return MyOrganizationRead(
        id=organization.id,
        name=organization.name,
        slug=organization.slug,
        created_at=organization.created_at,
        role=Role.OWNER,
    )


@router.get(
    "/organizations",
    summary="The organizations the caller belongs to, with the caller's role",
)
async def list_my_organizations(
    user: CurrentUser, page: Page, session: WriteSession
) -> PageOf[MyOrganizationRead]:
    rows = await service.list_my_organizations(
        session,
        user_id=user.id,
        limit=page.limit + 1,
        after=decode_key(page.cursor, [str, uuid.UUID]),
    )
    next_cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        last, _ = rows[-1]
        next_cursor = encode_key((last.name, last.id))
    items = [
        MyOrganizationRead(
            id=org.id, name=org.name, slug=org.slug, created_at=org.created_at, role=role
        )
        for org, role in rows
    ]
    return PageOf(data=items, next_cursor=next_cursor)


@router.get("/organizations/{org_id}", summary="An organization (members only)")
async def get_organization(access: OrgStaff, session: WriteSession) -> MyOrganizationRead:
    organization = await service.get_organization(session, access.organization_id)
    return MyOrganizationRead(
        id=organization.id,
        name=organization.name,
        slug=organization.slug,
        created_at=organization.created_at,
        role=access.role,
    )


@router.patch("/organizations/{org_id}", summary="Rename an organization (admin+)")
async def update_organization(
    body: OrganizationUpdate, access: OrgAdmin, session: WriteSession
) -> OrganizationRead:
    organization = await service.rename_organization(
        session, organization_id=access.organization_id, name=body.name
    )
    return OrganizationRead.model_validate(organization)


@router.get("/organizations/{org_id}/members", summary="Members and their roles (members only)")
async def list_members(access: OrgStaff, page: Page, session: WriteSession) -> PageOf[MemberRead]:
    after = decode_key(page.cursor, [parse_aware_iso, uuid.UUID])
    rows = await service.list_members(
        session, organization_id=access.organization_id, limit=page.limit + 1, after=after
    )
    next_cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        last, _ = rows[-1]
        next_cursor = encode_key((last.created_at, last.user_id))
    return PageOf(data=[_member_read(m, u) for m, u in rows], next_cursor=next_cursor)


@router.post(
    "/organizations/{org_id}/members",
    status_code=status.HTTP_201_CREATED,
    summary="Add a registered user as admin or staff (admin+)",
    responses={409: {"description": "Already a member"}},
)
async def add_member(body: MemberAdd, access: OrgAdmin, session: WriteSession) -> MemberRead:
    membership, user = await service.add_member(
        session, access=access, email=body.email, role=Role(body.role), now=utcnow()
    )
    return _member_read(membership, user)


@router.patch(
    "/organizations/{org_id}/members/{user_id}",
    summary="Change a member's role (admin+; only owners grant or remove the owner role)",
    responses={409: {"description": "That would leave the organization without an owner"}},
)
async def change_member_role(
    user_id: str, body: MemberUpdate, access: OrgAdmin, session: WriteSession
) -> MemberRead:
    membership, user = await service.change_role(
        session, access=access, user_id=parse_id(user_id, MemberNotFound()), role=Role(body.role)
    )
    return _member_read(membership, user)


@router.delete(
    "/organizations/{org_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a member (admin+; the last owner cannot be removed)",
    responses={409: {"description": "That would leave the organization without an owner"}},
)
async def remove_member(user_id: str, access: OrgAdmin, session: WriteSession) -> Response:
    await service.remove_member(session, access=access, user_id=parse_id(user_id, MemberNotFound()))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
