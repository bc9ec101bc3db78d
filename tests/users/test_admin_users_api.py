"""`/v1/admin/users` and `/v1/admin/keys`: admins list and create users (with a first key, shown once), list a
user's keys and revoke any key; members get 403 in the one error shape and change nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.models import ApiKey, User
from tests.fixtures.database import run_db
from tests.fixtures.demo import DemoUser
from tests.fixtures.http import assert_error
from tests.fixtures.server import LiveServer

ALICE = "alice@example.com"
ADMIN = "admin@example.com"
DEMO_EMAILS = ["test.user@example.com", ALICE, "bob@example.com", ADMIN]


def counts(url: str) -> tuple[int, int]:
    async def work(session: AsyncSession) -> tuple[int, int]:
        users = await session.scalar(select(func.count()).select_from(User))
        keys = await session.scalar(select(func.count()).select_from(ApiKey))
        return int(users or 0), int(keys or 0)

    return run_db(url, work)


def create_user(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/admin/users", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/admin/users", None),
        ("POST", "/v1/admin/users", {"email": "new@example.com", "name": "New"}),
        ("GET", "/v1/admin/users/1/keys", None),
        ("DELETE", "/v1/admin/keys/1", None),
    ],
)
def test_members_get_403_and_change_nothing(
    server: LiveServer, demo: dict[str, DemoUser], method: str, path: str, body: dict[str, Any] | None
) -> None:
    before = counts(server.database_url)
    with server.client(demo[ALICE].key) as client:
        error = assert_error(client.request(method, path, json=body), 403, "permission_denied")
        assert "admin" in error["message"]
        assert client.get("/v1/me").status_code == 200
    assert counts(server.database_url) == before
    with server.client(demo["test.user@example.com"].key) as client:
        assert client.get("/v1/me").status_code == 200  # key 1 was not revoked


def test_admin_creates_a_user_whose_first_key_is_shown_once_and_works(
    server: LiveServer, demo: dict[str, DemoUser]
) -> None:
    with server.client(demo[ADMIN].key) as client:
        response = client.post(
            "/v1/admin/users", json={"email": " Carol@Example.com ", "name": "Carol", "key_name": "onboarding"}
        )
        assert response.status_code == 201, response.text
        assert response.headers["cache-control"] == "no-store"
        created = response.json()
        root = create_user(client, email="root@example.com", name="Root", admin=True)
        listed = client.get(f"/v1/admin/users/{created['user']['id']}/keys").json()
    user, key = created["user"], created["key"]
    assert {k: user[k] for k in ("email", "name", "role", "is_admin")} == {
        "email": "carol@example.com",
        "name": "Carol",
        "role": "member",
        "is_admin": False,
    }
    assert (key["user_id"], key["name"], key["prefix"]) == (user["id"], "onboarding", key["key"][:12])
    assert (root["user"]["role"], root["user"]["is_admin"], root["key"]["name"]) == ("admin", True, "default")
    # The admin's listing of Carol's keys names the key, never shows it.
    assert [(k["id"], k["prefix"], k["current"]) for k in listed["items"]] == [(key["id"], key["prefix"], False)]
    assert key["key"][12:] not in str(listed)
    with server.client(key["key"]) as client:
        me = client.get("/v1/me").json()
    assert (me["id"], me["email"], me["api_key"]["id"]) == (user["id"], "carol@example.com", key["id"])


@pytest.mark.parametrize(
    ("body", "status", "type_"),
    [
        ({"email": ALICE, "name": "Again"}, 409, "conflict"),
        ({"email": "ALICE@example.com", "name": "Again"}, 409, "conflict"),
        ({"email": "not-an-email", "name": "X"}, 422, "validation_error"),
        ({"email": "x@example.com", "name": "  "}, 422, "validation_error"),
        ({"email": "x@example.com"}, 422, "validation_error"),
        ({"email": "x@example.com", "name": "X", "admin": "maybe"}, 422, "validation_error"),
        ({"email": "x" * 320 + "@example.com", "name": "X"}, 422, "validation_error"),
    ],
)
def test_bad_user_creations_change_nothing(
    server: LiveServer, demo: dict[str, DemoUser], body: dict[str, Any], status: int, type_: str
) -> None:
    before = counts(server.database_url)
    with server.client(demo[ADMIN].key) as client:
        assert_error(client.post("/v1/admin/users", json=body), status, type_)
    assert counts(server.database_url) == before


def test_the_same_email_created_twice_at_once_is_one_user_and_one_409(
    server: LiveServer, demo: dict[str, DemoUser]
) -> None:
    def create() -> httpx.Response:
        with server.client(demo[ADMIN].key) as client:
            return client.post("/v1/admin/users", json={"email": "twice@example.com", "name": "Twice"})

    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: create(), range(4)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409], [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert_error(response, 409, "conflict")
    assert counts(server.database_url) == (5, 5)


def test_users_are_listed_oldest_first_in_pages(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[ADMIN].key) as client:
        first = client.get("/v1/admin/users", params={"limit": 3}).json()
        rest = client.get("/v1/admin/users", params={"limit": 3, "cursor": first["next_cursor"]}).json()
        assert_error(client.get("/v1/admin/users", params={"cursor": "garbage"}), 422, "validation_error")
        assert_error(client.get("/v1/admin/users/999999/keys"), 404, "not_found")
    assert [u["email"] for u in first["items"] + rest["items"]] == DEMO_EMAILS
    assert [u["id"] for u in first["items"] + rest["items"]] == [demo[e].user_id for e in DEMO_EMAILS]
    assert rest["next_cursor"] is None
    assert {"id", "email", "name", "role", "is_admin", "created_at", "tier", "limits", "effective_limits"} == set(
        first["items"][0]
    )


def test_admin_revokes_any_key_even_a_users_last(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[ALICE].key) as client:
        alice_key_id = client.get("/v1/me").json()["api_key"]["id"]
    with server.client(demo[ADMIN].key) as client:
        response = client.delete(f"/v1/admin/keys/{alice_key_id}")
        assert response.status_code == 200, response.text
        again = client.delete(f"/v1/admin/keys/{alice_key_id}")
        assert_error(client.delete("/v1/admin/keys/999999"), 404, "not_found")
        assert_error(client.delete(f"/v1/admin/keys/{2**63}"), 422, "validation_error")
        keys = client.get(f"/v1/admin/users/{demo[ALICE].user_id}/keys").json()["items"]
    revoked = response.json()
    assert (revoked["id"], revoked["user_id"], revoked["revoked"]) == (alice_key_id, demo[ALICE].user_id, True)
    assert again.json()["revoked_at"] == revoked["revoked_at"]  # revoking twice changes nothing
    assert [(k["id"], k["revoked"]) for k in keys] == [(alice_key_id, True)]
    with server.client(demo[ALICE].key) as client:
        assert_error(client.get("/v1/me"), 401, "authentication_error")
    with server.client(demo["bob@example.com"].key) as client:
        assert client.get("/v1/me").status_code == 200  # only that key


def test_an_admin_sets_another_users_role_but_not_their_own(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    alice = demo[ALICE]
    with server.client(demo[ADMIN].key) as admin, server.client(alice.key) as member:
        promoted = admin.patch(f"/v1/admin/users/{alice.user_id}", json={"role": "admin"})
        assert promoted.status_code == 200, promoted.text
        assert promoted.json()["role"] == "admin"
        assert member.get("/v1/me").json()["role"] == "admin"  # at once: the key cache was cleared
        own = admin.patch(f"/v1/admin/users/{demo[ADMIN].user_id}", json={"role": "member"})
        assert_error(own, 409, "conflict")
        assert admin.get("/v1/me").json()["role"] == "admin"
        unknown = admin.patch(f"/v1/admin/users/{alice.user_id}", json={"role": "owner"})
        assert_error(unknown, 422, "validation_error")
        demoted = admin.patch(f"/v1/admin/users/{alice.user_id}", json={"role": "member", "tier": "nope"})
        assert_error(demoted, 422, "validation_error")  # the whole change is refused: the role stays
        assert member.get("/v1/me").json()["role"] == "admin"
