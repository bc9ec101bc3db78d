"""Tiers and per-user overrides, set by an admin (PATCH /v1/admin/users/{id}) and shown to the user (GET /v1/me,
GET /v1/limits); a change applies to the user's next request, also with their key remembered by the server."""

from __future__ import annotations

from tests.fixtures.http import assert_error
from tests.limits.conftest import ADMIN, ALICE, BOB, Limited, run_body


def test_an_admin_sets_a_tier_and_overrides_and_they_apply_at_once(limited: Limited) -> None:
    server, users = limited(rpm=50, tpm=1000, max_concurrent_runs=10)
    alice = users[ALICE]
    with server.client(alice.key) as client:
        assert client.post("/v1/runs", json=run_body()).headers["x-ratelimit-limit"] == "50"  # her key, remembered
    with server.client(users[ADMIN].key) as admin:
        response = admin.patch(f"/v1/admin/users/{alice.user_id}", json={"tier": "pro", "limits": {"rpm": 2}})
        assert response.status_code == 200, response.text
        shown = admin.get(f"/v1/admin/users/{alice.user_id}").json()
        listed = {u["id"]: u for u in admin.get("/v1/admin/users").json()["items"]}
    assert response.json() == shown == listed[alice.user_id]
    assert (shown["tier"], shown["limits"]["rpm"], shown["limits"]["tpm"]) == ("pro", 2, None)
    assert shown["effective_limits"] == {"rpm": 2, "tpm": None, "daily_cost_usd": None, "max_concurrent_runs": None}
    assert listed[users[BOB].user_id]["effective_limits"]["rpm"] == 50
    with server.client(alice.key) as client:
        me = client.get("/v1/me").json()
        assert (me["tier"], me["effective_limits"]["rpm"]) == ("pro", 2)
        assert client.post("/v1/runs", json=run_body()).headers["x-ratelimit-limit"] == "2"
        client.post("/v1/runs", json=run_body())
        error = assert_error(client.post("/v1/runs", json=run_body()), 429, "rate_limited")
        assert "2 run-creating requests per minute (tier pro)" in error["message"]
        limits = client.get("/v1/limits").json()
    assert limits["tier"] == "pro"
    assert limits["overrides"]["rpm"] == 2
    assert limits["rpm"]["limit"] == 2
    assert limits["rpm"]["remaining"] == 0
    assert limits["tpm"] is None
    assert limits["max_concurrent_runs"] is None


def test_null_removes_an_override_and_limits_null_removes_them_all(limited: Limited) -> None:
    server, users = limited(rpm=50)
    path = f"/v1/admin/users/{users[ALICE].user_id}"
    with server.client(users[ADMIN].key) as admin:
        both = admin.patch(path, json={"limits": {"rpm": 5, "max_concurrent_runs": 3}}).json()
        one = admin.patch(path, json={"limits": {"rpm": None}}).json()
        kept = admin.patch(path, json={"tier": "free"}).json()  # limits omitted: left as they are
        none = admin.patch(path, json={"limits": None}).json()
    assert (both["limits"]["rpm"], both["limits"]["max_concurrent_runs"]) == (5, 3)
    assert (one["limits"]["rpm"], one["limits"]["max_concurrent_runs"]) == (None, 3)
    assert one["effective_limits"]["rpm"] == 50  # the tier's again
    assert kept["limits"]["max_concurrent_runs"] == 3
    assert set(none["limits"].values()) == {None}
    assert none["effective_limits"]["max_concurrent_runs"] is None


def test_patching_a_user_is_for_admins_with_a_known_tier_and_valid_numbers(limited: Limited) -> None:
    server, users = limited(rpm=50)
    path = f"/v1/admin/users/{users[BOB].user_id}"
    with server.client(users[ALICE].key) as member:
        assert_error(member.patch(path, json={"tier": "pro"}), 403, "permission_denied")
        assert_error(member.get(path), 403, "permission_denied")
    with server.client(users[ADMIN].key) as admin:
        error = assert_error(admin.patch(path, json={"tier": "gold"}), 422, "validation_error")
        assert "free, pro" in error["message"]
        assert_error(admin.patch("/v1/admin/users/999999", json={"tier": "pro"}), 404, "not_found")
        assert_error(admin.get("/v1/admin/users/999999"), 404, "not_found")
        assert_error(admin.patch(path, json={"limits": {"rpm": 0}}), 422, "validation_error")
        assert_error(admin.patch(path, json={"limits": {"rpm": "many"}}), 422, "validation_error")
        assert_error(admin.patch(path, json={"limits": {"requests": 5}}), 422, "validation_error")
        assert_error(admin.patch(path, json={"email": "b@example.com"}), 422, "validation_error")
        assert_error(admin.patch(path, json={"tier": None}), 422, "validation_error")  # omit it to keep the tier
        assert admin.get(path).json()["tier"] == "free"  # nothing changed


def test_the_openapi_lists_the_servers_tiers(limited: Limited) -> None:
    server, _ = limited(rpm=50)
    with server.client() as client:
        schema = client.get("/openapi.json").json()
    assert schema["components"]["schemas"]["UserPatch"]["properties"]["tier"]["enum"] == ["free", "pro"]


def test_a_new_user_gets_the_default_tier(limited: Limited) -> None:
    server, users = limited(rpm=50, default_tier="pro")
    with server.client(users[ADMIN].key) as admin:
        created = admin.post("/v1/admin/users", json={"email": "carol@example.com", "name": "Carol"})
    assert created.status_code == 201, created.text
    assert created.json()["user"]["tier"] == "pro"
