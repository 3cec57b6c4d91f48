"""``boxoffice createadmin``."""

from __future__ import annotations

from boxoffice.accounts.models import User
from boxoffice.accounts.passwords import hash_password, password_problems
from boxoffice.accounts.service import get_user_by_email, normalize_email
from boxoffice.config import Settings
from boxoffice.core.timestamps import utcnow
from boxoffice.db.engine import create_database


async def create_admin(settings: Settings, *, email: str, name: str, password: str) -> str:
    """Create a platform admin, or promote the existing account with that e-mail."""
    database = create_database(settings)
    try:
        async with database.write_sessions() as session, session.begin():
            user = await get_user_by_email(session, email)
            if user is not None:
                user.is_platform_admin = True
                return f"{user.email} is now a platform admin"
            problem = password_problems(password, email=email, name=name)
            if problem:
                raise ValueError(f"password {problem}")
            now = utcnow()
            session.add(
                User(
                    email=normalize_email(email),
                    name=name,
                    password_hash=hash_password(password),
                    is_platform_admin=True,
                    created_at=now,
                    updated_at=now,
                )
            )
            return f"platform admin {normalize_email(email)} created"
    finally:
        await database.dispose()
