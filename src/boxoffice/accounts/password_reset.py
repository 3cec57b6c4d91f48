"""Password reset: single-use, expiring links sent by e-mail.

The raw token is never stored. It is ``<reset id hex>.<mac>``, the mac an HMAC-SHA256 (keyed
by the secret key) over the reset's id and the account's *current* password hash: whoever can
read the database still cannot forge one without the key, and every outstanding token dies
the moment the password changes. A reset is also single use (``used_at``, set with one
conditional UPDATE) and expires after ``password_reset_ttl_seconds``.

``request_reset`` writes the reset and, in the same transaction, the outbox row of the
``mail.password_reset`` job, which builds the link with :func:`reset_token` and
:func:`reset_url` when it sends the e-mail.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts import passwords
from boxoffice.accounts.errors import InvalidPasswordResetToken
from boxoffice.accounts.models import PasswordReset, RefreshToken, User
from boxoffice.accounts.service import get_user_by_email
from boxoffice.config import Settings
from boxoffice.core.errors import ValidationFailed
from boxoffice.core.timestamps import utcnow
from boxoffice.jobs.outbox import enqueue

MAIL_JOB = "mail.password_reset"
_MAC_CONTEXT = b"password-reset:"
# 32 hex digits, a dot, 43 characters of unpadded urlsafe base64 (32 bytes of HMAC-SHA256).
_TOKEN = re.compile(r"^([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$")
_IP_LENGTH = 45

NOT_VALID = "is not a valid password reset link; ask for a new one"
USED = (
    "this password reset link was already used (or the password changed since it was sent); "
    "ask for a new one"
)
EXPIRED = "this password reset link has expired; ask for a new one"


def reset_token(reset_id: uuid.UUID, password_hash: str, secret_key: str) -> str:
    """The token for one reset, as long as the account's password hash is ``password_hash``."""
    mac = hmac.new(
        secret_key.encode(),
        _MAC_CONTEXT + reset_id.bytes + password_hash.encode(),
        hashlib.sha256,
    ).digest()
    return f"{reset_id.hex}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def reset_url(settings: Settings, token: str) -> str:
    """The link the e-mail carries (the web app's page that asks for the new password)."""
    return f"{settings.public_url}/reset-password?token={token}"


async def request_reset(
    session: AsyncSession,
    settings: Settings,
    *,
    email: str,
    ip: str | None,
    now: datetime | None = None,
) -> None:
    """Start a reset for the account using ``email`` and queue its e-mail; do nothing (and
    say nothing) when no account uses it, so callers cannot learn which addresses exist."""
    user = await get_user_by_email(session, email)
    if user is None:
        return
    moment = now or utcnow()
    reset = PasswordReset(
        user_id=user.id,
        created_at=moment,
        expires_at=moment + timedelta(seconds=settings.password_reset_ttl_seconds),
        requested_ip=ip[:_IP_LENGTH] if ip else None,
    )
    session.add(reset)
    await session.flush()
    await enqueue(session, MAIL_JOB, {"reset_id": str(reset.id)}, now=moment)


@dataclass(frozen=True, slots=True)
class _Checked:
    reset_id: uuid.UUID
    user_id: uuid.UUID
    old_hash: str
    new_hash: str


async def confirm_reset(
    session: AsyncSession,
    settings: Settings,
    *,
    token: str,
    new_password: str,
    now: datetime,
    read_session: AsyncSession | None = None,
) -> User:
    """Set a new password with a reset token; every session of the account ends.

    The token and the password are checked (and the password hashed, tens of milliseconds of
    argon2) on ``read_session`` when given, a session that holds no write lock; the writes
    then go through ``session`` as conditional UPDATEs that fail unless the password hash and
    the reset are still what was checked, so a concurrent confirm (of this token or of another
    of the account's) cannot also succeed. Raises InvalidPasswordResetToken (422 naming
    ``token``) or ValidationFailed (422 naming ``password``), having written nothing.
    """
    checked = await _check(read_session or session, settings, token, new_password, now)
    # The account row first: concurrent confirms for one account queue on it, in one order.
    changed = await session.execute(
        update(User)
        .where(User.id == checked.user_id, User.password_hash == checked.old_hash)
        .values(password_hash=checked.new_hash, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidPasswordResetToken(USED)
    spent = await session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.id == checked.reset_id,
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidPasswordResetToken(USED)
    # The account's other links are dead anyway (the password hash changed); say so in the data.
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == checked.user_id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == checked.user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    user = await session.get(User, checked.user_id, populate_existing=True)
    if user is None:  # pragma: no cover - the UPDATE above found the row in this transaction
        raise InvalidPasswordResetToken(NOT_VALID)
    return user


async def _check(
    session: AsyncSession, settings: Settings, token: str, new_password: str, now: datetime
) -> _Checked:
    match = _TOKEN.match(token)
    if match is None:
        raise InvalidPasswordResetToken(NOT_VALID)
    reset = await session.get(PasswordReset, uuid.UUID(hex=match.group(1)))
    user = await session.get(User, reset.user_id) if reset is not None else None
    if reset is None or user is None:
        raise InvalidPasswordResetToken(NOT_VALID)
    expected = reset_token(reset.id, user.password_hash, settings.secret_key)
    if not hmac.compare_digest(expected, token):
        # Also the answer for a used link: using it changed the password, hence the mac.
        raise InvalidPasswordResetToken(USED if reset.used_at is not None else NOT_VALID)
    if reset.used_at is not None:
        raise InvalidPasswordResetToken(USED)
    if reset.expires_at <= now:
        raise InvalidPasswordResetToken(EXPIRED)
    problem = passwords.password_problems(new_password, email=user.email, name=user.name)
    if problem:
        raise ValidationFailed("password", problem)
    new_hash = await asyncio.to_thread(passwords.hash_password, new_password)
    return _Checked(reset.id, user.id, user.password_hash, new_hash)
