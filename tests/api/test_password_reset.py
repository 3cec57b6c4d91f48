"""Password reset: POST /auth/password-reset answers alike for every address and queues the
e-mail through the outbox; POST /auth/password-reset/confirm takes a single-use, expiring
token, sets the password and ends every session.

Tokens are built from the database row with ``reset_token``, exactly as the mail job does.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from boxoffice.accounts.models import PasswordReset, User
from boxoffice.accounts.password_reset import reset_token, reset_url
from boxoffice.app import create_app
from boxoffice.config import Settings
from boxoffice.core.timestamps import utcnow
from boxoffice.jobs.models import OutboxMessage
from tests.conftest import Backend, make_settings
from tests.helpers import API, PASSWORD, Account, assert_problem, register, unique_email

NEW_PASSWORD = "a-brand-new-secret-42"
RESET = f"{API}/auth/password-reset"
CONFIRM = f"{API}/auth/password-reset/confirm"


# --- helpers ----------------------------------------------------------------------------------


async def ask_for_reset(client: httpx.AsyncClient, email: str) -> httpx.Response:
    """Request a reset under a fresh request id (outbox rows carry it)."""
    return await client.post(
        RESET, json={"email": email}, headers={"X-Request-ID": f"reset-{uuid.uuid4().hex}"}
    )


async def outbox_rows(app: FastAPI, request_id: str) -> list[OutboxMessage]:
    async with app.state.resources.database.write_sessions() as session:
        result = await session.execute(
            select(OutboxMessage).where(OutboxMessage.request_id == request_id)
        )
        return list(result.scalars())


async def resets_of(app: FastAPI, user_id: str) -> list[PasswordReset]:
    async with app.state.resources.database.write_sessions() as session:
        result = await session.execute(
            select(PasswordReset)
            .where(PasswordReset.user_id == uuid.UUID(user_id))
            .order_by(PasswordReset.created_at)
        )
        return list(result.scalars())


async def mailed_token(app: FastAPI, settings: Settings, reset_id: uuid.UUID) -> str:
    """The token the mail job puts in the link: from the reset row and the current hash."""
    async with app.state.resources.database.write_sessions() as session:
        reset = await session.get(PasswordReset, reset_id)
        assert reset is not None
        user = await session.get(User, reset.user_id)
        assert user is not None
        return reset_token(reset.id, user.password_hash, settings.secret_key)


async def new_reset_token(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, account: Account
) -> str:
    """Ask for a reset of ``account`` and return the token of the reset it created."""
    before = {reset.id for reset in await resets_of(app, account.user_id)}
    response = await ask_for_reset(client, account.email)
    assert response.status_code == 202, response.text
    (created,) = [r for r in await resets_of(app, account.user_id) if r.id not in before]
    return await mailed_token(app, settings, created.id)


async def confirm(client: httpx.AsyncClient, token: str, password: str) -> httpx.Response:
    return await client.post(CONFIRM, json={"token": token, "password": password})


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(f"{API}/auth/login", json={"email": email, "password": password})


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post(f"{API}/auth/refresh", json={"refresh_token": refresh_token})


def tampered(token: str) -> str:
    reset_id, mac = token.split(".")
    flipped = "A" if mac[10] != "A" else "B"
    return f"{reset_id}.{mac[:10]}{flipped}{mac[11:]}"


# --- requesting a reset -----------------------------------------------------------------------


class TestRequestReset:
    async def test_known_email_is_202_and_queues_exactly_one_mail(
        self, client: httpx.AsyncClient, app: FastAPI, settings: Settings
    ) -> None:
        account = await register(client)
        started = utcnow()
        response = await ask_for_reset(client, account.email)
        assert response.status_code == 202, response.text
        assert response.json()["message"]

        (reset,) = await resets_of(app, account.user_id)
        assert reset.used_at is None
        assert reset.requested_ip == "127.0.0.1"
        assert reset.created_at >= started - timedelta(seconds=1)
        assert reset.expires_at - reset.created_at == timedelta(
            seconds=settings.password_reset_ttl_seconds
        )
        (message,) = await outbox_rows(app, response.headers["x-request-id"])
        assert message.job == "mail.password_reset"
        assert message.queue == "critical"
        assert message.payload == {"reset_id": str(reset.id)}

    async def test_unknown_email_gets_the_same_answer_and_writes_nothing(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        account = await register(client)
        known = await ask_for_reset(client, account.email)
        unknown = await ask_for_reset(client, unique_email("nobody"))
        assert unknown.status_code == known.status_code == 202
        assert unknown.content == known.content
        assert unknown.headers["ratelimit-limit"] == known.headers["ratelimit-limit"]
        assert await outbox_rows(app, unknown.headers["x-request-id"]) == []

    async def test_email_matches_case_insensitively(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        account = await register(client)
        response = await ask_for_reset(client, account.email.upper())
        assert response.status_code == 202
        assert len(await resets_of(app, account.user_id)) == 1

    async def test_invalid_email_is_422_naming_email(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.post(RESET, json={"email": "not-an-address"}), 422, "email")
        assert_problem(await client.post(RESET, json={}), 422, "email")

    def test_link_points_at_the_web_app(self, settings: Settings) -> None:
        token = reset_token(uuid.uuid4(), "$argon2id$hash", settings.secret_key)
        assert reset_url(settings, token) == (f"{settings.public_url}/reset-password?token={token}")
        assert token == httpx.URL(reset_url(settings, token)).params["token"]  # URL-safe


# --- confirming -------------------------------------------------------------------------------


class TestConfirmReset:
    async def test_sets_the_password_and_ends_every_session(
        self, client: httpx.AsyncClient, app: FastAPI, settings: Settings
    ) -> None:
        account = await register(client)
        second_session = (await login(client, account.email, PASSWORD)).json()["refresh_token"]
        token = await new_reset_token(client, app, settings, account)

        response = await confirm(client, token, NEW_PASSWORD)
        assert response.status_code == 204, response.text
        assert response.content == b""

        assert (await login(client, account.email, NEW_PASSWORD)).status_code == 200
        assert_problem(await login(client, account.email, PASSWORD), 401)
        for refresh_token in (account.refresh_token, second_session):
            assert_problem(await refresh(client, refresh_token), 401)
        (reset,) = await resets_of(app, account.user_id)
        assert reset.used_at is not None

    async def test_token_works_once(
        self, client: httpx.AsyncClient, app: FastAPI, settings: Settings
    ) -> None:
        account = await register(client)
        token = await new_reset_token(client, app, settings, account)
        assert (await confirm(client, token, NEW_PASSWORD)).status_code == 204
        again = assert_problem(await confirm(client, token, "yet-another-secret-7"), 422, "token")
        assert "already used" in again["detail"]
        assert (await login(client, account.email, NEW_PASSWORD)).status_code == 200

    async def test_other_links_die_when_one_is_used(
        self, client: httpx.AsyncClient, app: FastAPI, settings: Settings
    ) -> None:
        account = await register(client)
        first = await new_reset_token(client, app, settings, account)
        second = await new_reset_token(client, app, settings, account)
        assert (await confirm(client, first, NEW_PASSWORD)).status_code == 204
        assert_problem(await confirm(client, second, "yet-another-secret-7"), 422, "token")
        assert all(reset.used_at is not None for reset in await resets_of(app, account.user_id))
        assert (await login(client, account.email, NEW_PASSWORD)).status_code == 200

    async def test_expired_token_is_422_and_changes_nothing(
        self, client: httpx.AsyncClient, app: FastAPI, settings: Settings
    ) -> None:
        account = await register(client)
        token = await new_reset_token(client, app, settings, account)
        async with app.state.resources.database.write_sessions() as session, session.begin():
            await session.execute(
                update(PasswordReset)
                .where(PasswordReset.user_id == uuid.UUID(account.user_id))
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
        body = assert_problem(await confirm(client, token, NEW_PASSWORD), 422, "token")
        assert "expired" in body["detail"]
        assert (await login(client, account.email, PASSWORD)).status_code == 200
        assert (await refresh(client, account.refresh_token)).status_code == 200

    async def test_tampered_token_is_422_and_the_real_one_still_works(
        self, client: httpx.AsyncClient, app: FastAPI, settings: Settings
    ) -> None:
        account = await register(client)
        token = await new_reset_token(client, app, settings, account)
        forged = reset_token(
            uuid.UUID(hex=token.split(".")[0]), "guessed-hash", "another-secret-key-" + "y" * 32
        )
        for bad in (tampered(token), forged):
            body = assert_problem(await confirm(client, bad, NEW_PASSWORD), 422, "token")
            assert body["detail"].startswith("token: ")
        assert (await login(client, account.email, PASSWORD)).status_code == 200
        assert (await confirm(client, token, NEW_PASSWORD)).status_code == 204

    @pytest.mark.parametrize(
        "token",
        [
            "",
            "nope",
            "abc.def",
            uuid.uuid4().hex,
            f"{uuid.uuid4().hex}.{'A' * 43}",  # well formed, unknown id
            f"{uuid.uuid4()}.{'A' * 43}",  # dashed id
            f"{uuid.uuid4().hex.upper()}.{'A' * 43}",
            f"{uuid.uuid4().hex}.{'A' * 43}=",
            "a" * 201,
            "é" * 40,
        ],
        ids=lambda token: repr(token)[:24],
    )
    async def test_malformed_or_unknown_token_is_422_naming_token(
        self, client: httpx.AsyncClient, token: str
    ) -> None:
        assert_problem(await confirm(client, token, NEW_PASSWORD), 422, "token")

    @pytest.mark.parametrize(
        "password", ["short", "Password123", "aaaaaaaaaaaaaaaa"], ids=["short", "common", "dull"]
    )
    async def test_weak_password_is_422_naming_password_and_writes_nothing(
        self, client: httpx.AsyncClient, app: FastAPI, settings: Settings, password: str
    ) -> None:
        account = await register(client)
        token = await new_reset_token(client, app, settings, account)
        assert_problem(await confirm(client, token, password), 422, "password")
        (reset,) = await resets_of(app, account.user_id)
        assert reset.used_at is None
        assert (await refresh(client, account.refresh_token)).status_code == 200
        assert (await confirm(client, token, NEW_PASSWORD)).status_code == 204

    async def test_password_equal_to_the_email_is_refused(
        self, client: httpx.AsyncClient, app: FastAPI, settings: Settings
    ) -> None:
        account = await register(client)
        token = await new_reset_token(client, app, settings, account)
        assert_problem(await confirm(client, token, account.email), 422, "password")

    async def test_unknown_fields_are_422(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            CONFIRM, json={"token": "x", "password": NEW_PASSWORD, "email": "a@example.com"}
        )
        assert_problem(response, 422, "email")


# --- concurrency ------------------------------------------------------------------------------


@asynccontextmanager
async def another_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


class TestConcurrentConfirms:
    """On PostgreSQL both requests check the token at the same time, hash in threads and only
    then write; the conditional UPDATEs let exactly one through. (SQLite serializes writers;
    the test holds there too.)"""

    async def test_one_token_confirmed_twice_at_once_succeeds_once(
        self, client: httpx.AsyncClient, app: FastAPI, settings: Settings
    ) -> None:
        for _ in range(3):
            account = await register(client)
            token = await new_reset_token(client, app, settings, account)
            passwords = ["first-new-secret-11", "second-new-secret-22"]
            async with another_client(app) as one, another_client(app) as two:
                responses = await asyncio.gather(
                    confirm(one, token, passwords[0]), confirm(two, token, passwords[1])
                )
            statuses = sorted(response.status_code for response in responses)
            assert statuses == [204, 422], [response.text for response in responses]
            loser = next(r for r in responses if r.status_code == 422)
            assert_problem(loser, 422, "token")
            winner = passwords[[r.status_code for r in responses].index(204)]
            assert (await login(client, account.email, winner)).status_code == 200

    async def test_two_links_of_one_account_at_once_succeed_once(
        self, client: httpx.AsyncClient, app: FastAPI, settings: Settings
    ) -> None:
        account = await register(client)
        first = await new_reset_token(client, app, settings, account)
        second = await new_reset_token(client, app, settings, account)
        async with another_client(app) as one, another_client(app) as two:
            responses = await asyncio.gather(
                confirm(one, first, "first-new-secret-11"),
                confirm(two, second, "second-new-secret-22"),
            )
        assert sorted(r.status_code for r in responses) == [204, 422], [r.text for r in responses]


# --- rate limits ------------------------------------------------------------------------------

PER_EMAIL = 5
PER_IP = 3


@pytest.fixture(scope="module")
async def limited_app(backend: Backend, var_dir: Path) -> AsyncIterator[FastAPI]:
    settings = make_settings(
        backend,
        var_dir,
        rate_limit_password_reset=f"{PER_EMAIL}/hour",
        rate_limit_password_reset_ip=f"{PER_IP}/hour",
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


def fresh_ip() -> str:
    a, b, c = uuid.uuid4().bytes[:3]
    return f"10.{a}.{b}.{max(c, 1)}"


async def ask_from(app: FastAPI, ip: str, email: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(ip, 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        return await ask_for_reset(http, email)


def assert_rate_limited(response: httpx.Response) -> dict[str, Any]:
    body = assert_problem(response, 429)
    assert "password reset" in body["detail"]
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["ratelimit-remaining"] == "0"
    return body


class TestRateLimits:
    @pytest.mark.parametrize("known", [True, False], ids=["known", "unknown"])
    async def test_sixth_request_for_one_email_is_429_from_any_address(
        self, limited_app: FastAPI, client: httpx.AsyncClient, known: bool
    ) -> None:
        account = await register(client) if known else None
        email = account.email if account else unique_email("nobody")
        for _ in range(PER_EMAIL):
            response = await ask_from(limited_app, fresh_ip(), email)
            assert response.status_code == 202, response.text
        refused = await ask_from(limited_app, fresh_ip(), email)
        assert_rate_limited(refused)
        assert await outbox_rows(limited_app, refused.headers["x-request-id"]) == []
        if account is not None:
            assert len(await resets_of(limited_app, account.user_id)) == PER_EMAIL
        # another address is unaffected
        other = await ask_from(limited_app, fresh_ip(), unique_email("bystander"))
        assert other.status_code == 202

    async def test_one_client_address_is_limited_across_emails(self, limited_app: FastAPI) -> None:
        ip = fresh_ip()
        for _ in range(PER_IP):
            assert (await ask_from(limited_app, ip, unique_email("spray"))).status_code == 202
        assert_rate_limited(await ask_from(limited_app, ip, unique_email("spray")))
        assert (await ask_from(limited_app, fresh_ip(), unique_email("spray"))).status_code == 202


# --- documentation ----------------------------------------------------------------------------


class TestOpenAPI:
    async def test_both_routes_document_their_answers(self, client: httpx.AsyncClient) -> None:
        spec = (await client.get(f"{API}/openapi.json")).json()
        request = spec["paths"][f"{API}/auth/password-reset"]["post"]
        confirm_ = spec["paths"][f"{API}/auth/password-reset/confirm"]["post"]
        assert {"202", "422", "429"} <= set(request["responses"])
        assert {"204", "422"} <= set(confirm_["responses"])
        problem = "application/problem+json"
        for documented in (request["responses"]["422"], confirm_["responses"]["422"]):
            assert documented["content"][problem]["schema"]["$ref"].endswith(
                "/ValidationProblemDocument"
            )
        assert problem in request["responses"]["429"]["content"]
