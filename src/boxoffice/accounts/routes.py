"""/auth and /me."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response, status

from boxoffice.accounts import password_reset, service
from boxoffice.accounts.auth import CurrentUser
from boxoffice.accounts.schemas import (
    AuthResponse,
    PasswordResetConfirm,
    PasswordResetRequest,
    PasswordResetRequested,
    RefreshRequest,
    UserLogin,
    UserRead,
    UserRegister,
)
from boxoffice.accounts.service import IssuedTokens, TokenPolicy
from boxoffice.core.access import public
from boxoffice.core.ratelimit import client_ip
from boxoffice.core.routing import API_PREFIX
from boxoffice.core.state import Resources
from boxoffice.core.timestamps import utcnow
from boxoffice.db.session import PrimaryReadSession, WriteSession

router = APIRouter(prefix=API_PREFIX, tags=["accounts"])
PUBLIC = [Depends(public)]


def _policy(resources: Resources) -> TokenPolicy:
    settings = resources.settings
    return TokenPolicy(
        secret_key=settings.secret_key,
        access_ttl_seconds=settings.access_token_ttl_seconds,
        refresh_ttl_seconds=settings.refresh_token_ttl_seconds,
    )


def _expose(request: Request, response: Response, headers: dict[str, str]) -> None:
    """RateLimit-* headers go on the answer, error answers included."""
    request.state.rate_limit_headers = headers
    response.headers.update(headers)


def _auth_response(issued: IssuedTokens) -> AuthResponse:
    return AuthResponse(
        user=UserRead.model_validate(issued.user),
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_in=issued.expires_in,
    )


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    dependencies=PUBLIC,
    summary="Create an account and sign in",
    responses={409: {"description": "E-mail already registered"}, 429: {}},
)
async def register(
    body: UserRegister,
    request: Request,
    response: Response,
    session: WriteSession,
    resources: Resources,
) -> AuthResponse:
    ip = client_ip(request, resources.settings.trusted_proxies)
    limit = await resources.rate_limiter.hit(
        ("register_ip", ip), ("register", service.normalize_email(body.email))
    )
    _expose(request, response, limit.headers())
    issued = await service.register(
        session,
        email=body.email,
        password=body.password,
        name=body.name,
        policy=_policy(resources),
        now=utcnow(),
    )
    return _auth_response(issued)


@router.post(
    "/auth/login",
    dependencies=PUBLIC,
    summary="Sign in with e-mail and password",
    responses={401: {"description": "Wrong e-mail or password"}, 429: {}},
)
async def login(
    body: UserLogin,
    request: Request,
    response: Response,
    primary: PrimaryReadSession,
    session: WriteSession,
    resources: Resources,
) -> AuthResponse:
    ip = client_ip(request, resources.settings.trusted_proxies)
    limit = await resources.rate_limiter.hit(
        ("login_ip", ip), ("login", service.normalize_email(body.email))
    )
    _expose(request, response, limit.headers())
    user_id = await service.authenticate(primary, email=body.email, password=body.password)
    issued = await service.login(
        session, user_id=user_id, password=body.password, policy=_policy(resources), now=utcnow()
    )
    return _auth_response(issued)


@router.post(
    "/auth/refresh",
    dependencies=PUBLIC,
    summary="Exchange a refresh token for a new pair (the old one is spent)",
    responses={401: {"description": "Invalid, expired or reused refresh token"}, 429: {}},
)
async def refresh(
    body: RefreshRequest,
    request: Request,
    response: Response,
    session: WriteSession,
    resources: Resources,
) -> AuthResponse:
    ip = client_ip(request, resources.settings.trusted_proxies)
    limit = await resources.rate_limiter.hit(("refresh", ip))
    _expose(request, response, limit.headers())
    issued = await service.refresh(
        session, refresh_token=body.refresh_token, policy=_policy(resources), now=utcnow()
    )
    return _auth_response(issued)


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=PUBLIC,
    summary="Revoke a refresh token and every token rotated from it",
)
async def logout(body: RefreshRequest, session: WriteSession) -> Response:
    await service.logout(session, refresh_token=body.refresh_token, now=utcnow())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/auth/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=PUBLIC,
    summary="E-mail a single-use link that sets a new password",
    description=(
        "Always answers 202 with the same body, whether or not an account uses the address, "
        "so the answer does not tell which addresses have accounts. When one does, an e-mail "
        "with a link (`/reset-password?token=…`) is sent; the link works once, until it "
        "expires, and only while the password is unchanged. Limited per e-mail address and "
        "per client IP."
    ),
    response_description="Accepted: an e-mail is on its way if an account uses the address",
    responses={429: {"description": "Too many reset requests for this address or from here"}},
)
async def request_password_reset(
    body: PasswordResetRequest,
    request: Request,
    response: Response,
    session: WriteSession,
    resources: Resources,
) -> PasswordResetRequested:
    settings = resources.settings
    ip = client_ip(request, settings.trusted_proxies)
    limit = await resources.rate_limiter.hit(
        ("password_reset_ip", ip), ("password_reset", service.normalize_email(body.email))
    )
    _expose(request, response, limit.headers())
    await password_reset.request_reset(session, settings, email=body.email, ip=ip, now=utcnow())
    minutes = max(settings.password_reset_ttl_seconds // 60, 1)
    return PasswordResetRequested(
        message=(
            "If an account uses this e-mail address, a link to choose a new password is on "
            f"its way. It works once, within {minutes} minutes."
        )
    )


@router.post(
    "/auth/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=PUBLIC,
    summary="Set a new password with the token from a reset e-mail",
    description=(
        "Sets the new password (same rules as at sign-up), spends the token and every other "
        "reset link of the account, and ends every session: all refresh tokens are revoked."
    ),
    response_description="The password is changed; sign in with it",
    responses={
        422: {
            "description": "`token` unknown, tampered with, expired or already used; or a "
            "`password` that breaks the password rules. Nothing is changed."
        }
    },
)
async def confirm_password_reset(
    body: PasswordResetConfirm,
    primary: PrimaryReadSession,
    session: WriteSession,
    resources: Resources,
) -> Response:
    await password_reset.confirm_reset(
        session,
        resources.settings,
        token=body.token,
        new_password=body.password,
        now=utcnow(),
        read_session=primary,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", summary="The signed-in user")
async def me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)
