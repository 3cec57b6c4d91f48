"""Registration, login and refresh-token rotation with reuse detection."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts import passwords, tokens
from boxoffice.accounts.errors import (
    EmailAlreadyRegistered,
    InvalidCredentials,
    InvalidRefreshToken,
    RefreshTokenReused,
)
from boxoffice.accounts.models import RefreshToken, User
from boxoffice.core.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    secret_key: str
    access_ttl_seconds: int
    refresh_ttl_seconds: int


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    user: User
    access_token: str
    refresh_token: str
    expires_in: int


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(User.email == normalize_email(email)))
    return result.scalar_one_or_none()


async def register(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    name: str,
    policy: TokenPolicy,
    now: datetime,
) -> IssuedTokens:
    email = normalize_email(email)
    problem = passwords.password_problems(password, email=email, name=name)
    if problem:
        raise ValidationFailed("password", problem)
    # Hash before the first statement, so no write lock is held while argon2 runs.
    password_hash = await asyncio.to_thread(passwords.hash_password, password)
    if await get_user_by_email(session, email) is not None:
        raise EmailAlreadyRegistered(f"{email} already has an account")
    user = User(
        email=email,
        name=name,
        password_hash=password_hash,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent registration of the same address won
        raise EmailAlreadyRegistered(f"{email} already has an account") from exc
    return await _issue(session, user=user, family_id=uuid.uuid4(), policy=policy, now=now)


async def authenticate(session: AsyncSession, *, email: str, password: str) -> uuid.UUID:
    """The id of the account these credentials open, or InvalidCredentials.

    Meant for a read-only session: argon2 takes tens of milliseconds of CPU (in a thread, off
    the event loop), and no write lock should be held meanwhile.
    """
    user = await get_user_by_email(session, email)
    valid = await asyncio.to_thread(
        passwords.verify_password, user.password_hash if user else None, password
    )
    if not valid or user is None:
        raise InvalidCredentials()
    return user.id


async def login(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    password: str,
    policy: TokenPolicy,
    now: datetime,
) -> IssuedTokens:
    """Start a session for an authenticated account (see authenticate)."""
    user = await session.get(User, user_id)
    if user is None:  # deleted between the check and now
        raise InvalidCredentials()
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(passwords.hash_password, password)
    return await _issue(session, user=user, family_id=uuid.uuid4(), policy=policy, now=now)


async def refresh(
    session: AsyncSession, *, refresh_token: str, policy: TokenPolicy, now: datetime
) -> IssuedTokens:
    token = await _find_refresh_token(session, refresh_token)
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise InvalidRefreshToken()
    # Spend the token with one conditional UPDATE so two concurrent refreshes cannot both win.
    spent = await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.id == token.id,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        await revoke_family(session, family_id=token.family_id, now=now)
        raise RefreshTokenReused(
            "this refresh token was already used; every session descended from it is revoked"
        )
    user = await session.get(User, token.user_id)
    if user is None:
        raise InvalidRefreshToken()
    return await _issue(session, user=user, family_id=token.family_id, policy=policy, now=now)


async def logout(session: AsyncSession, *, refresh_token: str, now: datetime) -> None:
    """Revoke the token's whole family; unknown tokens are ignored (logout is idempotent)."""
    token = await _find_refresh_token(session, refresh_token)
    if token is not None:
        await revoke_family(session, family_id=token.family_id, now=now)


async def revoke_family(session: AsyncSession, *, family_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


async def _find_refresh_token(session: AsyncSession, refresh_token: str) -> RefreshToken | None:
    result = await session.execute(
        select(RefreshToken).where(
            RefreshToken.token_hash == tokens.hash_refresh_token(refresh_token)
        )
    )
    return result.scalar_one_or_none()


async def _issue(
    session: AsyncSession,
    *,
    user: User,
    family_id: uuid.UUID,
    policy: TokenPolicy,
    now: datetime,
) -> IssuedTokens:
    refresh_token = tokens.new_refresh_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=tokens.hash_refresh_token(refresh_token),
            created_at=now,
            expires_at=now + timedelta(seconds=policy.refresh_ttl_seconds),
        )
    )
    await session.flush()
    access_token = tokens.issue_access_token(
        user_id=user.id,
        secret_key=policy.secret_key,
        now=now,
        ttl_seconds=policy.access_ttl_seconds,
    )
    return IssuedTokens(
        user=user,
        access_token=access_token,
        refresh_token=refresh_token,
        expires_in=policy.access_ttl_seconds,
    )
