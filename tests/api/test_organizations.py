"""Organizations and their members: creation, renaming, roles and the owner invariant."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.helpers import (
    API,
    Account,
    add_member,
    assert_problem,
    create_organization,
    register,
    unique_email,
)


@pytest.fixture(scope="module")
async def users(app: object) -> AsyncIterator[list[Account]]:
    """Five registered people, shared by the module: every test makes its own organization,
    so they start out as strangers to it (registering is deliberately slow, argon2)."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield [await register(http) for _ in range(5)]


def unique_name(prefix: str = "Org") -> str:
    return f"{prefix} {uuid.uuid4().hex[:10]}"


async def members(client: httpx.AsyncClient, org_id: str, by: Account) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/organizations/{org_id}/members", headers=by.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def role_of(client: httpx.AsyncClient, org_id: str, by: Account, user_id: str) -> str | None:
    for member in await members(client, org_id, by):
        if member["user_id"] == user_id:
            return str(member["role"])
    return None


async def change_role(
    client: httpx.AsyncClient, org_id: str, by: Account, user_id: str, role: str
) -> httpx.Response:
    return await client.patch(
        f"{API}/organizations/{org_id}/members/{user_id}", json={"role": role}, headers=by.headers
    )


async def remove(
    client: httpx.AsyncClient, org_id: str, by: Account, user_id: str
) -> httpx.Response:
    return await client.delete(
        f"{API}/organizations/{org_id}/members/{user_id}", headers=by.headers
    )


class TestCreateOrganization:
    async def test_returns_id_name_and_slug(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner = users[0]
        name = unique_name("Riverside Jazz Club")
        response = await client.post(
            f"{API}/organizations", json={"name": name}, headers=owner.headers
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert {"id", "name", "slug"} <= body.keys()
        assert body["name"] == name
        assert body["id"]
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", body["slug"]), body["slug"]
        assert body["slug"].startswith("riverside-jazz-club")

    async def test_caller_becomes_owner_and_sees_it_in_their_list(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner = users[0]
        org_id = await create_organization(client, owner, name=unique_name())
        response = await client.get(f"{API}/organizations", headers=owner.headers)
        assert response.status_code == 200
        mine = {org["id"]: org for org in response.json()["data"]}
        assert mine[org_id]["role"] == "owner"
        assert await role_of(client, org_id, owner, owner.user_id) == "owner"

    async def test_list_shows_only_the_callers_organizations(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner, stranger = users[:2]
        org_id = await create_organization(client, owner, name=unique_name())
        response = await client.get(f"{API}/organizations", headers=stranger.headers)
        assert response.status_code == 200
        assert org_id not in {org["id"] for org in response.json()["data"]}

    async def test_same_name_gets_distinct_slugs(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        first_owner, second_owner = users[:2]
        name = unique_name("Same Name")
        first = await client.post(
            f"{API}/organizations", json={"name": name}, headers=first_owner.headers
        )
        second = await client.post(
            f"{API}/organizations", json={"name": name}, headers=second_owner.headers
        )
        assert first.status_code == second.status_code == 201
        assert first.json()["slug"] != second.json()["slug"]
        assert first.json()["name"] == second.json()["name"] == name

    async def test_name_without_letters_still_gets_a_slug(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner = users[0]
        response = await client.post(
            f"{API}/organizations", json={"name": "🎷🎺"}, headers=owner.headers
        )
        assert response.status_code == 201, response.text
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", response.json()["slug"])

    async def test_blank_name_is_422(self, client: httpx.AsyncClient, users: list[Account]) -> None:
        owner = users[0]
        response = await client.post(
            f"{API}/organizations", json={"name": "   "}, headers=owner.headers
        )
        assert_problem(response, 422, "name")


class TestGetOrganization:
    async def test_member_sees_it_with_their_role(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner, staff = users[:2]
        name = unique_name()
        org_id = await create_organization(client, owner, name=name)
        await add_member(client, org_id, owner, staff, "staff")
        response = await client.get(f"{API}/organizations/{org_id}", headers=staff.headers)
        assert response.status_code == 200
        body = response.json()
        assert body["id"] == org_id
        assert body["name"] == name
        assert body["role"] == "staff"


class TestRenameOrganization:
    async def test_owner_renames(self, client: httpx.AsyncClient, users: list[Account]) -> None:
        owner = users[0]
        org_id = await create_organization(client, owner, name=unique_name())
        new_name = unique_name("Renamed")
        response = await client.patch(
            f"{API}/organizations/{org_id}", json={"name": new_name}, headers=owner.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["id"] == org_id
        assert response.json()["name"] == new_name
        again = await client.get(f"{API}/organizations/{org_id}", headers=owner.headers)
        assert again.json()["name"] == new_name


class TestListMembers:
    async def test_lists_user_id_email_and_role(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner, admin = users[:2]
        org_id = await create_organization(client, owner, name=unique_name())
        await add_member(client, org_id, owner, admin, "admin")
        response = await client.get(f"{API}/organizations/{org_id}/members", headers=owner.headers)
        assert response.status_code == 200
        body = response.json()
        assert body.keys() >= {"data", "next_cursor"}
        assert body["next_cursor"] is None
        by_user = {member["user_id"]: member for member in body["data"]}
        assert by_user.keys() == {owner.user_id, admin.user_id}
        assert by_user[owner.user_id]["email"] == owner.email
        assert by_user[owner.user_id]["role"] == "owner"
        assert by_user[admin.user_id]["email"] == admin.email
        assert by_user[admin.user_id]["role"] == "admin"

    async def test_paginates_by_cursor_without_gaps_or_duplicates(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner = users[0]
        org_id = await create_organization(client, owner, name=unique_name())
        others = users[1:5]
        for other in others:
            await add_member(client, org_id, owner, other, "staff")
        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, str | int] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            response = await client.get(
                f"{API}/organizations/{org_id}/members", params=params, headers=owner.headers
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert len(body["data"]) <= 2
            seen.extend(member["user_id"] for member in body["data"])
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break
            assert pages < 10, "the cursor walk does not end"
        assert pages == 3
        assert len(seen) == len(set(seen)) == 5
        assert set(seen) == {owner.user_id, *(other.user_id for other in others)}

    async def test_garbage_cursor_is_422(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner = users[0]
        org_id = await create_organization(client, owner, name=unique_name())
        response = await client.get(
            f"{API}/organizations/{org_id}/members",
            params={"cursor": "not-a-cursor"},
            headers=owner.headers,
        )
        assert_problem(response, 422, "cursor")


class TestAddMember:
    async def test_owner_adds_an_admin(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner, newcomer = users[:2]
        org_id = await create_organization(client, owner, name=unique_name())
        response = await client.post(
            f"{API}/organizations/{org_id}/members",
            json={"email": newcomer.email, "role": "admin"},
            headers=owner.headers,
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["user_id"] == newcomer.user_id
        assert body["email"] == newcomer.email
        assert body["role"] == "admin"
        assert await role_of(client, org_id, owner, newcomer.user_id) == "admin"

    async def test_admin_adds_staff(self, client: httpx.AsyncClient, users: list[Account]) -> None:
        owner, admin, newcomer = users[:3]
        org_id = await create_organization(client, owner, name=unique_name())
        await add_member(client, org_id, owner, admin, "admin")
        response = await client.post(
            f"{API}/organizations/{org_id}/members",
            json={"email": newcomer.email, "role": "staff"},
            headers=admin.headers,
        )
        assert response.status_code == 201, response.text
        assert response.json()["role"] == "staff"

    async def test_email_is_matched_case_insensitively(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner, newcomer = users[:2]
        org_id = await create_organization(client, owner, name=unique_name())
        response = await client.post(
            f"{API}/organizations/{org_id}/members",
            json={"email": newcomer.email.upper(), "role": "staff"},
            headers=owner.headers,
        )
        assert response.status_code == 201, response.text
        assert response.json()["user_id"] == newcomer.user_id

    async def test_unknown_email_is_404(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner = users[0]
        org_id = await create_organization(client, owner, name=unique_name())
        response = await client.post(
            f"{API}/organizations/{org_id}/members",
            json={"email": unique_email("nobody"), "role": "staff"},
            headers=owner.headers,
        )
        assert_problem(response, 404)

    async def test_existing_member_is_409(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner, member = users[:2]
        org_id = await create_organization(client, owner, name=unique_name())
        await add_member(client, org_id, owner, member, "staff")
        response = await client.post(
            f"{API}/organizations/{org_id}/members",
            json={"email": member.email, "role": "admin"},
            headers=owner.headers,
        )
        assert_problem(response, 409)
        assert await role_of(client, org_id, owner, member.user_id) == "staff"

    async def test_adding_the_owner_again_is_409(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner = users[0]
        org_id = await create_organization(client, owner, name=unique_name())
        response = await client.post(
            f"{API}/organizations/{org_id}/members",
            json={"email": owner.email, "role": "staff"},
            headers=owner.headers,
        )
        assert_problem(response, 409)
        assert await role_of(client, org_id, owner, owner.user_id) == "owner"

    async def test_owner_role_cannot_be_given_on_invitation(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner, newcomer = users[:2]
        org_id = await create_organization(client, owner, name=unique_name())
        response = await client.post(
            f"{API}/organizations/{org_id}/members",
            json={"email": newcomer.email, "role": "owner"},
            headers=owner.headers,
        )
        assert_problem(response, 422, "role")
        assert await role_of(client, org_id, owner, newcomer.user_id) is None


class TestChangeRole:
    async def test_owner_demotes_admin_to_staff(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner, admin = users[:2]
        org_id = await create_organization(client, owner, name=unique_name())
        await add_member(client, org_id, owner, admin, "admin")
        response = await change_role(client, org_id, owner, admin.user_id, "staff")
        assert response.status_code == 200, response.text
        assert response.json()["role"] == "staff"
        assert await role_of(client, org_id, owner, admin.user_id) == "staff"

    async def test_owner_promotes_a_second_owner(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner, admin = users[:2]
        org_id = await create_organization(client, owner, name=unique_name())
        await add_member(client, org_id, owner, admin, "admin")
        response = await change_role(client, org_id, owner, admin.user_id, "owner")
        assert response.status_code == 200, response.text
        assert await role_of(client, org_id, owner, admin.user_id) == "owner"

    async def test_admin_cannot_grant_owner(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner, admin, staff = users[:3]
        org_id = await create_organization(client, owner, name=unique_name())
        await add_member(client, org_id, owner, admin, "admin")
        await add_member(client, org_id, owner, staff, "staff")
        assert_problem(await change_role(client, org_id, admin, staff.user_id, "owner"), 403)
        assert_problem(await change_role(client, org_id, admin, admin.user_id, "owner"), 403)
        assert await role_of(client, org_id, owner, staff.user_id) == "staff"
        assert await role_of(client, org_id, owner, admin.user_id) == "admin"

    async def test_admin_cannot_demote_an_owner(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner, admin = users[:2]
        org_id = await create_organization(client, owner, name=unique_name())
        await add_member(client, org_id, owner, admin, "admin")
        response = await change_role(client, org_id, admin, owner.user_id, "staff")
        assert_problem(response, 403)
        assert await role_of(client, org_id, owner, owner.user_id) == "owner"

    async def test_last_owner_cannot_be_demoted(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner = users[0]
        org_id = await create_organization(client, owner, name=unique_name())
        response = await change_role(client, org_id, owner, owner.user_id, "admin")
        assert_problem(response, 409)
        assert await role_of(client, org_id, owner, owner.user_id) == "owner"

    async def test_an_owner_can_step_down_when_another_owner_remains(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner, successor = users[:2]
        org_id = await create_organization(client, owner, name=unique_name())
        await add_member(client, org_id, owner, successor, "admin")
        assert (await change_role(client, org_id, owner, successor.user_id, "owner")).is_success
        response = await change_role(client, org_id, owner, owner.user_id, "admin")
        assert response.status_code == 200, response.text
        assert await role_of(client, org_id, successor, owner.user_id) == "admin"
        assert_problem(
            await change_role(client, org_id, successor, successor.user_id, "staff"), 409
        )

    async def test_unknown_member_is_404(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner = users[0]
        org_id = await create_organization(client, owner, name=unique_name())
        stranger = users[1]
        assert_problem(await change_role(client, org_id, owner, stranger.user_id, "staff"), 404)
        assert_problem(await change_role(client, org_id, owner, "not-an-id", "staff"), 404)

    async def test_unknown_role_is_422(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner, admin = users[:2]
        org_id = await create_organization(client, owner, name=unique_name())
        await add_member(client, org_id, owner, admin, "admin")
        response = await change_role(client, org_id, owner, admin.user_id, "emperor")
        assert_problem(response, 422, "role")


class TestRemoveMember:
    async def test_owner_removes_a_member(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner, staff = users[:2]
        org_id = await create_organization(client, owner, name=unique_name())
        await add_member(client, org_id, owner, staff, "staff")
        response = await remove(client, org_id, owner, staff.user_id)
        assert response.status_code == 204
        assert response.content == b""
        assert await role_of(client, org_id, owner, staff.user_id) is None
        gone = await client.get(f"{API}/organizations/{org_id}", headers=staff.headers)
        assert_problem(gone, 404)

    async def test_admin_removes_staff(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner, admin, staff = users[:3]
        org_id = await create_organization(client, owner, name=unique_name())
        await add_member(client, org_id, owner, admin, "admin")
        await add_member(client, org_id, owner, staff, "staff")
        assert (await remove(client, org_id, admin, staff.user_id)).status_code == 204
        assert await role_of(client, org_id, owner, staff.user_id) is None

    async def test_removed_member_can_be_added_again(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner, staff = users[:2]
        org_id = await create_organization(client, owner, name=unique_name())
        await add_member(client, org_id, owner, staff, "staff")
        assert (await remove(client, org_id, owner, staff.user_id)).status_code == 204
        await add_member(client, org_id, owner, staff, "admin")
        assert await role_of(client, org_id, owner, staff.user_id) == "admin"

    async def test_admin_cannot_remove_an_owner(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner, admin = users[:2]
        org_id = await create_organization(client, owner, name=unique_name())
        await add_member(client, org_id, owner, admin, "admin")
        assert_problem(await remove(client, org_id, admin, owner.user_id), 403)
        assert await role_of(client, org_id, owner, owner.user_id) == "owner"

    async def test_last_owner_cannot_be_removed(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner, admin = users[:2]
        org_id = await create_organization(client, owner, name=unique_name())
        await add_member(client, org_id, owner, admin, "admin")
        assert_problem(await remove(client, org_id, owner, owner.user_id), 409)
        assert await role_of(client, org_id, owner, owner.user_id) == "owner"

    async def test_one_of_two_owners_can_be_removed(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner, co_owner = users[:2]
        org_id = await create_organization(client, owner, name=unique_name())
        await add_member(client, org_id, owner, co_owner, "admin")
        assert (await change_role(client, org_id, owner, co_owner.user_id, "owner")).is_success
        assert (await remove(client, org_id, co_owner, owner.user_id)).status_code == 204
        assert await role_of(client, org_id, co_owner, owner.user_id) is None
        assert_problem(await remove(client, org_id, co_owner, co_owner.user_id), 409)

    async def test_unknown_member_is_404(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        owner, stranger = users[:2]
        org_id = await create_organization(client, owner, name=unique_name())
        assert_problem(await remove(client, org_id, owner, stranger.user_id), 404)


async def org_with_two_owners(client: httpx.AsyncClient, first: Account, second: Account) -> str:
    org_id = await create_organization(client, first, name=unique_name("Two owners"))
    await add_member(client, org_id, first, second, "admin")
    assert (await change_role(client, org_id, first, second.user_id, "owner")).is_success
    return org_id


async def owner_count(client: httpx.AsyncClient, org_id: str, by: Account) -> int:
    response = await client.get(f"{API}/organizations/{org_id}/members", headers=by.headers)
    assert response.status_code == 200, response.text
    return sum(member["role"] == "owner" for member in response.json()["data"])


class TestOwnerInvariantUnderConcurrency:
    """Two owners acting at the same moment must not leave an organization without an owner.

    A count-then-write check passes for both requests; each round gives the race a chance."""

    ROUNDS = 5

    async def test_owners_demoting_themselves_at_once_leave_one_owner(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        first, second = users[:2]
        for _ in range(self.ROUNDS):
            org_id = await org_with_two_owners(client, first, second)
            answers = await asyncio.gather(
                change_role(client, org_id, first, first.user_id, "admin"),
                change_role(client, org_id, second, second.user_id, "admin"),
            )
            assert sorted(answer.status_code for answer in answers) == [200, 409]
            assert await owner_count(client, org_id, first) == 1

    async def test_owners_removing_each_other_at_once_leave_one_owner(
        self, client: httpx.AsyncClient, users: list[Account]
    ) -> None:
        first, second, witness = users[:3]
        for _ in range(self.ROUNDS):
            org_id = await org_with_two_owners(client, first, second)
            await add_member(client, org_id, first, witness, "staff")
            answers = await asyncio.gather(
                remove(client, org_id, first, second.user_id),
                remove(client, org_id, second, first.user_id),
            )
            winner, loser = sorted(answers, key=lambda answer: answer.status_code)
            assert winner.status_code == 204
            # The loser is refused: as the last owner (409), or as no longer a member (404).
            assert loser.status_code in {404, 409}, loser.text
            assert await owner_count(client, org_id, witness) == 1


class TestListMyOrganizationsPages:
    async def test_walks_every_organization_once_by_cursor(self, client: httpx.AsyncClient) -> None:
        member = await register(client)
        created = {await create_organization(client, member, name=f"Org {i}") for i in range(5)}
        seen: list[str] = []
        cursor: str | None = None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = await client.get(f"{API}/organizations", params=params, headers=member.headers)
            assert page.status_code == 200
            body = page.json()
            seen.extend(item["id"] for item in body["data"])
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(created)
        assert len(seen) == len(set(seen))
