"""Authentication dependencies: who is calling, read from the bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from boxoffice.accounts.models import User
from boxoffice.accounts.tokens import AccessClaims, InvalidAccessToken, decode_access_token
from boxoffice.core.access import access_policy
from boxoffice.core.errors import Unauthorized
from boxoffice.core.state import resources_of
from boxoffice.db.session import WriteSession

_bearer = HTTPBearer(auto_error=False, description="Access token from /auth/login")


class InvalidToken(Unauthorized):
    slug = "invalid-token"
    title = "Invalid or expired access token"


def _claims(request: Request, credentials: HTTPAuthorizationCredentials | None) -> AccessClaims:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("send an access token: Authorization: Bearer <token>")
    try:
        return decode_access_token(
            credentials.credentials, secret_key=resources_of(request).settings.secret_key
        )
    except InvalidAccessToken as exc:
        raise InvalidToken() from exc


async def require_claims(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AccessClaims:
    return _claims(request, credentials)


async def optional_claims(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AccessClaims | None:
    """None for anonymous callers; a present but invalid token is still a 401."""
    if credentials is None:
        return None
    return _claims(request, credentials)


@access_policy("authenticated")
async def require_user(
    claims: Annotated[AccessClaims, Depends(require_claims)], session: WriteSession
) -> User:
    user = await session.get(User, claims.user_id)
    if user is None:
        raise InvalidToken("the account behind this token no longer exists")
    return user


@access_policy("authenticated")
async def signed_in(claims: Annotated[AccessClaims, Depends(require_claims)]) -> AccessClaims:
    """Any signed-in caller, known by the token alone (no database read)."""
    return claims


Claims = Annotated[AccessClaims, Depends(require_claims)]
SignedIn = Annotated[AccessClaims, Depends(signed_in)]
OptionalClaims = Annotated[AccessClaims | None, Depends(optional_claims)]
CurrentUser = Annotated[User, Depends(require_user)]
