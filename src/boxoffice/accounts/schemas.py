from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field, StringConstraints

from boxoffice.accounts.passwords import MAX_PASSWORD_LENGTH
from boxoffice.core.schemas import InputModel, OutputModel
from boxoffice.core.timestamps import Timestamp

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Password = Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


class UserRegister(InputModel):
    email: EmailStr
    password: Password
    name: Name


class UserLogin(InputModel):
    email: EmailStr
    password: Password


class RefreshRequest(InputModel):
    refresh_token: Annotated[str, Field(min_length=1, max_length=200)]


class PasswordResetRequest(InputModel):
    email: EmailStr


class PasswordResetConfirm(InputModel):
    token: Annotated[str, Field(min_length=1, max_length=200)]
    password: Password


class PasswordResetRequested(BaseModel):
    """The same answer whether or not an account uses the address (no account enumeration)."""

    message: str


class UserRead(OutputModel):
    id: uuid.UUID
    email: str
    name: str
    created_at: Timestamp


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int


class AuthResponse(TokenPair):
    user: UserRead
