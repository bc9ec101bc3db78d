"""`/v1/me` and `/v1/keys`: who you are, and your own API keys — created (shown once), listed (never shown),
revoked (yours only; the key in use too; the last active one only when you say so)."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.models import ApiKey
from tests.fixtures.database import run_db
from tests.fixtures.demo import DemoUser
from tests.fixtures.http import assert_error
from tests.fixtures.server import LiveServer

ALICE = "alice@example.com"
BOB = "bob@example.com"
ADMIN = "admin@example.com"


def create_key(client: httpx.Client, name: str | None = None) -> dict[str, Any]:
    response = client.post("/v1/keys", json={} if name is None else {"name": name})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def list_keys(client: httpx.Client, **params: Any) -> dict[str, Any]:
    response = client.get("/v1/keys", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def key_id_of(client: httpx.Client) -> int:
    response = client.get("/v1/me")
    assert response.status_code == 200, response.text
    key_id: int = response.json()["api_key"]["id"]
    return key_id


def stored_rows(url: str) -> list[str]:
    async def work(session: AsyncSession) -> list[str]:
        return [str(row) for row in await session.scalars(text("SELECT row_to_json(k)::text FROM api_keys k"))]

    return run_db(url, work)


def test_me_is_the_caller_and_names_the_key_used_never_the_key(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    alice = demo[ALICE]
    with server.client(alice.key) as client:
        response = client.get("/v1/me")
        assert response.status_code == 200, response.text
        me = response.json()
        second = create_key(client, "laptop")
    assert {k: me[k] for k in ("id", "email", "name", "role", "is_admin")} == {
        "id": alice.user_id,
        "email": ALICE,
        "name": "Alice",
        "role": "member",
        "is_admin": False,
    }
    assert me["api_key"]["prefix"] == alice.key[:12]
    assert me["api_key"]["current"] is True
    assert me["api_key"]["revoked"] is False
    assert alice.key not in response.text
    assert alice.key[12:] not in response.text

    # The same user with another key: /v1/me names that key.
    with server.client(second["key"]) as client:
        other = client.get("/v1/me").json()
    assert other["id"] == alice.user_id
    assert other["api_key"]["id"] == second["id"] != me["api_key"]["id"]
    assert other["api_key"]["name"] == "laptop"

    with server.client(demo[ADMIN].key) as client:
        admin = client.get("/v1/me").json()
    assert (admin["email"], admin["role"], admin["is_admin"]) == (ADMIN, "admin", True)


def test_a_new_key_is_shown_once_works_and_is_stored_hashed(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[ALICE].key) as client:
        response = client.post("/v1/keys", json={"name": "  ci runner  "})
        assert response.status_code == 201, response.text
        assert response.headers["cache-control"] == "no-store"
        created = response.json()
        assert created["name"] == "ci runner"
        assert created["user_id"] == demo[ALICE].user_id
        assert created["key"].startswith("sb_")
        assert created["prefix"] == created["key"][:12]
        assert (created["revoked"], created["last_used_at"]) == (False, None)
        listing = client.get("/v1/keys")
        default_name = create_key(client)["name"]
    assert default_name == "default"
    new_key = created["key"]
    # Listed by prefix, never shown again.
    assert listing.status_code == 200, listing.text
    assert created["prefix"] in listing.text
    assert new_key[12:] not in listing.text
    assert "key" not in listing.json()["items"][0]

    with server.client(new_key) as client:
        assert client.get("/v1/me").json()["api_key"]["id"] == created["id"]
    for row in stored_rows(server.database_url):
        assert new_key[12:] not in row

    async def digest(session: AsyncSession) -> str | None:
        return await session.scalar(select(ApiKey.key_hash).where(ApiKey.id == created["id"]))

    assert run_db(server.database_url, digest) == hashlib.sha256(new_key.encode()).hexdigest()


def test_bad_key_names_are_422_and_create_nothing(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[ALICE].key) as client:
        for body in ({"name": ""}, {"name": "   "}, {"name": "x" * 201}, {"name": 5}, {"name": "a\u0000b"}):
            error = assert_error(client.post("/v1/keys", json=body), 422, "validation_error")
            assert "name" in error["message"], error
        assert len(list_keys(client)["items"]) == 1


def test_the_list_is_yours_only_marks_the_key_in_use_and_paginates(
    server: LiveServer, demo: dict[str, DemoUser]
) -> None:
    with server.client(demo[ALICE].key) as client:
        created = [create_key(client, f"key {n}") for n in range(4)]
        first = list_keys(client, limit=2)
        second = list_keys(client, limit=2, cursor=first["next_cursor"])
        third = list_keys(client, limit=2, cursor=second["next_cursor"])
    with server.client(demo[BOB].key) as client:
        bobs = list_keys(client)
    items = first["items"] + second["items"] + third["items"]
    assert third["next_cursor"] is None
    assert [k["prefix"] for k in items] == [demo[ALICE].key[:12], *(k["prefix"] for k in created)]
    assert [k["current"] for k in items] == [True, False, False, False, False]
    assert {k["user_id"] for k in items} == {demo[ALICE].user_id}
    assert [k["prefix"] for k in bobs["items"]] == [demo[BOB].key[:12]]
    assert bobs["next_cursor"] is None


def test_another_users_key_is_not_found_and_stays_working(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[ALICE].key) as alice:
        alice_key_id = key_id_of(alice)
        spare = create_key(alice)  # so the 404 is not the last-key rule speaking
        with server.client(demo[BOB].key) as bob:
            error = assert_error(bob.delete(f"/v1/keys/{alice_key_id}"), 404, "not_found")
            assert_error(bob.delete(f"/v1/keys/{spare['id']}?allow_lockout=true"), 404, "not_found")
            assert_error(bob.delete("/v1/keys/999999"), 404, "not_found")
            for bad in ("0", "-1", "abc", str(2**63)):
                assert_error(bob.delete(f"/v1/keys/{bad}"), 422, "validation_error")
        assert str(alice_key_id) in error["message"]
        assert alice.get("/v1/me").status_code == 200
        assert [k["revoked"] for k in list_keys(alice)["items"]] == [False, False]


def test_revoking_the_key_in_use_is_allowed_and_it_stops_working(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[ALICE].key) as client:
        key_id = key_id_of(client)
        other = create_key(client, "other")
        response = client.delete(f"/v1/keys/{key_id}")
        assert response.status_code == 200, response.text
        revoked = response.json()
        refused = client.get("/v1/me")
    assert (revoked["id"], revoked["revoked"], revoked["current"]) == (key_id, True, True)
    assert revoked["revoked_at"] is not None
    assert "key" not in revoked
    error = assert_error(refused, 401, "authentication_error")
    assert "revoked" in error["message"]
    with server.client(other["key"]) as client:
        items = list_keys(client)["items"]
        # Revoking a revoked key changes nothing, not even its time.
        again = client.delete(f"/v1/keys/{key_id}")
    assert [(k["id"], k["revoked"]) for k in items] == [(key_id, True), (other["id"], False)]
    assert again.status_code == 200, again.text
    assert again.json()["revoked_at"] == revoked["revoked_at"]


def test_the_last_active_key_is_kept_unless_lockout_is_allowed(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[BOB].key) as client:
        key_id = key_id_of(client)
        error = assert_error(client.delete(f"/v1/keys/{key_id}"), 409, "conflict")
        assert "last active key" in error["message"]
        assert "allow_lockout=true" in error["message"]
        assert client.get("/v1/me").status_code == 200  # still works: nothing changed
        response = client.delete(f"/v1/keys/{key_id}", params={"allow_lockout": "true"})
        assert response.status_code == 200, response.text
        assert response.json()["revoked"] is True
        assert_error(client.get("/v1/me"), 401, "authentication_error")


def test_revoking_the_last_two_keys_at_once_leaves_one(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    """Each request uses the key the other revokes: one succeeds, the other finds its target the last active key
    (or its own key already revoked); never both, and never a deadlock (each request has just written its own
    key's last_used_at, so each holds the row the other revokes)."""
    with server.client(demo[ALICE].key) as client:
        first_id = key_id_of(client)
        second = create_key(client, "second")
    barrier = threading.Barrier(2)

    def revoke(client: httpx.Client, key_id: int) -> httpx.Response:
        barrier.wait()
        return client.delete(f"/v1/keys/{key_id}")

    async def active(session: AsyncSession) -> list[int]:
        query = select(ApiKey.id).where(ApiKey.user_id == demo[ALICE].user_id, ApiKey.revoked_at.is_(None))
        return list(await session.scalars(query))

    async def restore(session: AsyncSession) -> None:
        await session.execute(text("UPDATE api_keys SET revoked_at = NULL, last_used_at = NULL"))

    with server.client(second["key"]) as using_second, server.client(demo[ALICE].key) as using_first:
        for _ in range(20):
            run_db(server.database_url, restore)  # so both requests write their key's last_used_at again
            with ThreadPoolExecutor(2) as pool:
                a = pool.submit(revoke, using_second, first_id)
                b = pool.submit(revoke, using_first, second["id"])
            statuses = sorted([a.result().status_code, b.result().status_code])
            assert statuses in ([200, 401], [200, 409]), [a.result().text, b.result().text]
            assert len(run_db(server.database_url, active)) == 1
