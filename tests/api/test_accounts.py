from __future__ import annotations

import asyncio

import httpx
import jwt

from tests.helpers import API, PASSWORD, assert_problem, register, unique_email


class TestRegister:
    async def test_returns_user_and_token_pair(self, client: httpx.AsyncClient) -> None:
        email = unique_email()
        response = await client.post(
            f"{API}/auth/register", json={"email": email, "password": PASSWORD, "name": "Ada"}
        )
        assert response.status_code == 201
        body = response.json()
        assert body["user"]["email"] == email
        assert body["user"]["name"] == "Ada"
        assert body["token_type"] == "bearer"
        assert body["expires_in"] > 0
        assert body["access_token"] and body["refresh_token"]
        assert body["user"]["created_at"].endswith("+00:00")

    async def test_duplicate_email_is_409_case_insensitively(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await register(client)
        response = await client.post(
            f"{API}/auth/register",
            json={"email": account.email.upper(), "password": PASSWORD, "name": "Again"},
        )
        assert_problem(response, 409)

    async def test_short_password_is_422_naming_password(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            f"{API}/auth/register",
            json={"email": unique_email(), "password": "short", "name": "Bo"},
        )
        assert_problem(response, 422, "password")

    async def test_common_password_is_422(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            f"{API}/auth/register",
            json={"email": unique_email(), "password": "Password123", "name": "Bo"},
        )
        body = assert_problem(response, 422, "password")
        assert "common" in body["errors"][0]["message"]

    async def test_invalid_email_is_422(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            f"{API}/auth/register", json={"email": "nope", "password": PASSWORD, "name": "Bo"}
        )
        assert_problem(response, 422, "email")


class TestLogin:
    async def test_correct_credentials(self, client: httpx.AsyncClient) -> None:
        account = await register(client)
        response = await client.post(
            f"{API}/auth/login", json={"email": account.email, "password": PASSWORD}
        )
        assert response.status_code == 200
        assert response.json()["user"]["id"] == account.user_id

    async def test_wrong_password_and_unknown_email_answer_alike(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await register(client)
        wrong = await client.post(
            f"{API}/auth/login", json={"email": account.email, "password": "not-the-password"}
        )
        unknown = await client.post(
            f"{API}/auth/login", json={"email": unique_email(), "password": PASSWORD}
        )
        assert_problem(wrong, 401)
        assert_problem(unknown, 401)
        assert wrong.json()["title"] == unknown.json()["title"]
        assert wrong.json().get("detail") == unknown.json().get("detail")


class TestAccessToken:
    async def test_me_with_token(self, client: httpx.AsyncClient) -> None:
        account = await register(client, name="Grace")
        response = await client.get(f"{API}/me", headers=account.headers)
        assert response.status_code == 200
        assert response.json() == {
            "id": account.user_id,
            "email": account.email,
            "name": "Grace",
            "created_at": response.json()["created_at"],
        }

    async def test_claims_are_complete_and_algorithm_pinned(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await register(client)
        header = jwt.get_unverified_header(account.access_token)
        claims = jwt.decode(account.access_token, options={"verify_signature": False})
        assert header["alg"] == "HS256"
        assert {"sub", "exp", "iat", "jti"} <= claims.keys()
        assert claims["sub"] == account.user_id

    async def test_missing_malformed_and_forged_tokens_are_401(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await register(client)
        claims = jwt.decode(account.access_token, options={"verify_signature": False})
        forged = jwt.encode(claims, "another-secret-key-of-sufficient-length!", algorithm="HS256")
        unsigned = jwt.encode(claims, key=None, algorithm="none")  # type: ignore[arg-type]
        for headers in (
            {},
            {"Authorization": "Bearer not-a-jwt"},
            {"Authorization": f"Bearer {forged}"},
            {"Authorization": f"Bearer {unsigned}"},
            {"Authorization": f"Basic {account.access_token}"},
        ):
            assert_problem(await client.get(f"{API}/me", headers=headers), 401)

    async def test_expired_token_is_401(self, client: httpx.AsyncClient, settings) -> None:  # type: ignore[no-untyped-def]
        account = await register(client)
        claims = jwt.decode(account.access_token, options={"verify_signature": False})
        claims["exp"] = claims["iat"] - 10
        expired = jwt.encode(claims, settings.secret_key, algorithm="HS256")
        response = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {expired}"})
        assert_problem(response, 401)


class TestRefresh:
    async def test_rotation_spends_the_old_token(self, client: httpx.AsyncClient) -> None:
        account = await register(client)
        first = await client.post(
            f"{API}/auth/refresh", json={"refresh_token": account.refresh_token}
        )
        assert first.status_code == 200
        new_pair = first.json()
        assert new_pair["refresh_token"] != account.refresh_token
        me = await client.get(
            f"{API}/me", headers={"Authorization": f"Bearer {new_pair['access_token']}"}
        )
        assert me.status_code == 200

    async def test_reuse_revokes_the_whole_family(self, client: httpx.AsyncClient) -> None:
        account = await register(client)
        rotated = await client.post(
            f"{API}/auth/refresh", json={"refresh_token": account.refresh_token}
        )
        descendant = rotated.json()["refresh_token"]
        replay = await client.post(
            f"{API}/auth/refresh", json={"refresh_token": account.refresh_token}
        )
        assert_problem(replay, 401)
        # The thief's replay also kills the legitimate descendant.
        after = await client.post(f"{API}/auth/refresh", json={"refresh_token": descendant})
        assert_problem(after, 401)

    async def test_other_sessions_survive_a_revoked_family(self, client: httpx.AsyncClient) -> None:
        account = await register(client)
        login = await client.post(
            f"{API}/auth/login", json={"email": account.email, "password": PASSWORD}
        )
        other_session = login.json()["refresh_token"]
        await client.post(f"{API}/auth/refresh", json={"refresh_token": account.refresh_token})
        await client.post(f"{API}/auth/refresh", json={"refresh_token": account.refresh_token})
        response = await client.post(f"{API}/auth/refresh", json={"refresh_token": other_session})
        assert response.status_code == 200

    async def test_concurrent_refreshes_only_one_wins(self, client: httpx.AsyncClient) -> None:
        account = await register(client)
        responses = await asyncio.gather(
            *[
                client.post(f"{API}/auth/refresh", json={"refresh_token": account.refresh_token})
                for _ in range(4)
            ]
        )
        assert sorted(r.status_code for r in responses).count(200) == 1

    async def test_unknown_token_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.post(f"{API}/auth/refresh", json={"refresh_token": "nope"})
        assert_problem(response, 401)


class TestLogout:
    async def test_logout_revokes_the_refresh_token(self, client: httpx.AsyncClient) -> None:
        account = await register(client)
        response = await client.post(
            f"{API}/auth/logout", json={"refresh_token": account.refresh_token}
        )
        assert response.status_code == 204
        again = await client.post(
            f"{API}/auth/refresh", json={"refresh_token": account.refresh_token}
        )
        assert_problem(again, 401)
