"""Rate limits on sign-up and sign-in: RateLimit-* headers, 429 with Retry-After, keys per
client IP and per e-mail, and Redis-backed counters shared by every app instance.

An app of this module's own runs with low limits. With Redis (the postgres run) counters outlive
a test run for a minute, so every test uses fresh client addresses and fresh e-mail addresses.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from boxoffice.app import create_app
from boxoffice.config import Settings
from tests.conftest import Backend, make_settings
from tests.helpers import API, PASSWORD, assert_problem, register, unique_email

LOGIN_LIMIT = 3
REGISTER_LIMIT = 2
WINDOW_SECONDS = 60


def limited_settings(backend: Backend, var_dir: Path) -> Settings:
    return make_settings(
        backend,
        var_dir,
        rate_limit_login=f"{LOGIN_LIMIT}/minute",
        rate_limit_login_ip=f"{LOGIN_LIMIT}/minute",
        rate_limit_register=f"{REGISTER_LIMIT}/minute",
        rate_limit_register_ip=f"{REGISTER_LIMIT}/minute",
    )


@pytest.fixture(scope="module")
async def limited_app(backend: Backend, var_dir: Path) -> AsyncIterator[FastAPI]:
    application = create_app(limited_settings(backend, var_dir))
    async with application.router.lifespan_context(application):
        yield application


def fresh_ip() -> str:
    a, b, c = uuid.uuid4().bytes[:3]
    return f"10.{a}.{b}.{max(c, 1)}"


@asynccontextmanager
async def client_at(app: FastAPI, ip: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(ip, 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def register_from(app: FastAPI, ip: str, email: str) -> httpx.Response:
    async with client_at(app, ip) as http:
        return await http.post(
            f"{API}/auth/register", json={"email": email, "password": PASSWORD, "name": "Rate"}
        )


async def login_from(app: FastAPI, ip: str, email: str, password: str = PASSWORD) -> httpx.Response:
    async with client_at(app, ip) as http:
        return await http.post(f"{API}/auth/login", json={"email": email, "password": password})


def assert_rate_limit_headers(response: httpx.Response, *, limit: int, remaining: int) -> None:
    assert response.headers["ratelimit-limit"] == str(limit)
    assert response.headers["ratelimit-remaining"] == str(remaining)
    assert 1 <= int(response.headers["ratelimit-reset"]) <= WINDOW_SECONDS


def assert_rate_limited(response: httpx.Response) -> None:
    body = assert_problem(response, 429)
    assert body["detail"]
    assert 1 <= int(response.headers["retry-after"]) <= WINDOW_SECONDS
    assert response.headers["ratelimit-remaining"] == "0"


class TestRegisterLimit:
    async def test_remaining_counts_down_per_address(self, limited_app: FastAPI) -> None:
        ip = fresh_ip()
        first = await register_from(limited_app, ip, unique_email("rl"))
        second = await register_from(limited_app, ip, unique_email("rl"))
        elsewhere = await register_from(limited_app, fresh_ip(), unique_email("rl"))
        assert first.status_code == second.status_code == elsewhere.status_code == 201
        assert_rate_limit_headers(first, limit=REGISTER_LIMIT, remaining=1)
        assert_rate_limit_headers(second, limit=REGISTER_LIMIT, remaining=0)
        assert_rate_limit_headers(elsewhere, limit=REGISTER_LIMIT, remaining=1)

    async def test_over_the_limit_is_429_and_creates_nothing(self, limited_app: FastAPI) -> None:
        ip = fresh_ip()
        for _ in range(REGISTER_LIMIT):
            assert (await register_from(limited_app, ip, unique_email("rl"))).status_code == 201
        refused_email = unique_email("refused")
        assert_rate_limited(await register_from(limited_app, ip, refused_email))
        assert_problem(await login_from(limited_app, fresh_ip(), refused_email), 401)


class TestLoginLimit:
    async def test_remaining_counts_down_then_429(
        self, limited_app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        account = await register(client)
        ip = fresh_ip()
        for remaining in range(LOGIN_LIMIT - 1, -1, -1):
            response = await login_from(limited_app, ip, account.email)
            assert response.status_code == 200, response.text
            assert_rate_limit_headers(response, limit=LOGIN_LIMIT, remaining=remaining)
        assert_rate_limited(await login_from(limited_app, ip, account.email))

    async def test_per_email_limit_spans_addresses_and_spares_other_emails(
        self, limited_app: FastAPI
    ) -> None:
        target = unique_email("target")
        for remaining in range(LOGIN_LIMIT - 1, -1, -1):
            failed = await login_from(limited_app, fresh_ip(), target, "guess-guess-1")
            assert_problem(failed, 401)  # failed attempts count, and say so
            assert_rate_limit_headers(failed, limit=LOGIN_LIMIT, remaining=remaining)
        # A new address does not help: the e-mail itself is exhausted.
        assert_rate_limited(await login_from(limited_app, fresh_ip(), target))
        # Another e-mail from yet another address is still answered normally.
        assert_problem(await login_from(limited_app, fresh_ip(), unique_email("bystander")), 401)

    async def test_per_address_limit_spans_emails(self, limited_app: FastAPI) -> None:
        ip = fresh_ip()
        for _ in range(LOGIN_LIMIT):
            assert_problem(await login_from(limited_app, ip, unique_email("spray")), 401)
        assert_rate_limited(await login_from(limited_app, ip, unique_email("spray")))


@pytest.fixture(scope="module")
async def default_limits_app(backend: Backend, var_dir: Path) -> AsyncIterator[FastAPI]:
    """The shipped defaults: e-mail limits tighter than address limits."""
    settings = make_settings(
        backend,
        var_dir,
        rate_limit_login="10/minute",
        rate_limit_login_ip="100/minute",
        rate_limit_register="5/minute",
        rate_limit_register_ip="30/minute",
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


class TestDefaults:
    async def test_many_people_behind_one_address_can_sign_up(
        self, default_limits_app: FastAPI
    ) -> None:
        ip = fresh_ip()
        for _ in range(12):  # well over the per-e-mail limit of 5, under the address limit
            response = await register_from(default_limits_app, ip, unique_email("office"))
            assert response.status_code == 201, response.text

    async def test_one_account_is_locked_out_after_ten_guesses(
        self, default_limits_app: FastAPI
    ) -> None:
        target, ip = unique_email("victim"), fresh_ip()
        for _ in range(10):
            assert_problem(await login_from(default_limits_app, ip, target, "wrong-guess-1"), 401)
        assert_rate_limited(await login_from(default_limits_app, ip, target))


class TestRedisStorage:
    async def test_counters_are_shared_by_app_instances(
        self, backend: Backend, var_dir: Path, limited_app: FastAPI
    ) -> None:
        if not backend.redis_url:
            pytest.skip("needs Redis (BOXOFFICE_TEST_REDIS_URL, postgres run)")
        email = unique_email("shared")
        for _ in range(LOGIN_LIMIT):
            assert_problem(await login_from(limited_app, fresh_ip(), email, "guess-guess-1"), 401)
        keys = await limited_app.state.resources.redis.keys(f"*{email}*")
        assert keys, "the limiter keeps no counter in Redis"
        second_instance = create_app(limited_settings(backend, var_dir))
        async with second_instance.router.lifespan_context(second_instance):
            response = await login_from(second_instance, fresh_ip(), email)
        assert_rate_limited(response)
