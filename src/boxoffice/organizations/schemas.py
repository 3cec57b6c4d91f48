from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import EmailStr, StringConstraints

from boxoffice.core.schemas import InputModel, OutputModel
from boxoffice.core.timestamps import Timestamp
from boxoffice.organizations.models import Role

OrganizationName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]


class OrganizationCreate(InputModel):
    name: OrganizationName


class OrganizationUpdate(InputModel):
    name: OrganizationName


class OrganizationRead(OutputModel):
    id: uuid.UUID
    name: str
    slug: str
    created_at: Timestamp


class MyOrganizationRead(OrganizationRead):
    role: Role


class MemberAdd(InputModel):
    email: EmailStr
    role: Literal["admin", "staff"]


class MemberUpdate(InputModel):
    role: Literal["owner", "admin", "staff"]


class MemberRead(OutputModel):
    user_id: uuid.UUID
    email: str
    name: str
    role: Role
    created_at: Timestamp
