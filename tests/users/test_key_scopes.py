"""API-key scopes: a key narrowed to some scopes does only that, makes keys no wider than itself, and an admin's
key without `admin` is not an admin's key. (The routes that need `runs:write` and `tools:call` test those scopes
themselves: tests/limits, tests/tools.)"""

from __future__ import annotations

from decimal import Decimal

from tests.fixtures.demo import DemoUser
from tests.fixtures.http import assert_error
from tests.fixtures.server import LiveServer

ALICE = "alice@example.com"
ADMIN = "admin@example.com"


def test_a_new_key_keeps_its_scopes_and_cap_and_shows_them(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[ALICE].key) as alice:
        created = alice.post("/v1/keys", json={"name": "ci", "scopes": ["tools:call", "runs:write", "tools:call"]})
        assert created.status_code == 201, created.text
        assert created.json()["scopes"] == ["runs:write", "tools:call"]  # stored once each, sorted
        capped = alice.post("/v1/keys", json={"name": "capped", "daily_cost_usd": 2.5})
        assert capped.status_code == 201, capped.text
        assert capped.json()["scopes"] is None
        assert Decimal(capped.json()["daily_cost_usd"]) == Decimal("2.5")
        listed = {key["name"]: key for key in alice.get("/v1/keys").json()["items"]}
        assert listed["ci"]["scopes"] == ["runs:write", "tools:call"]
        assert "key" not in listed["ci"]


def test_unknown_scopes_and_bad_caps_are_refused(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[ALICE].key) as alice:
        before = len(alice.get("/v1/keys").json()["items"])
        error = assert_error(alice.post("/v1/keys", json={"scopes": ["root"]}), 422, "validation_error")
        assert "scopes" in error["details"][0]["field"]
        assert_error(alice.post("/v1/keys", json={"daily_cost_usd": -1}), 422, "validation_error")
        assert len(alice.get("/v1/keys").json()["items"]) == before


def test_a_narrowed_key_cannot_make_a_wider_one(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[ALICE].key) as alice:
        narrow = alice.post("/v1/keys", json={"name": "narrow", "scopes": ["tools:call"]}).json()["key"]
    with server.client(narrow) as narrowed:
        error = assert_error(narrowed.post("/v1/keys", json={"scopes": ["runs:write"]}), 403, "permission_denied")
        assert "runs:write" in error["message"]
        # Asking for "everything" from a narrowed key gives its own scopes, not everything.
        inherited = narrowed.post("/v1/keys", json={"name": "child"})
        assert inherited.status_code == 201, inherited.text
        assert inherited.json()["scopes"] == ["tools:call"]
        read_only = narrowed.post("/v1/keys", json={"name": "read-only", "scopes": []})
        assert read_only.json()["scopes"] == []


def test_an_admins_key_without_the_admin_scope_is_not_an_admins(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[ADMIN].key) as admin:
        assert admin.get("/v1/admin/users").status_code == 200
        runs_only = admin.post("/v1/keys", json={"name": "runs only", "scopes": ["runs:write"]}).json()["key"]
        with_admin = admin.post("/v1/keys", json={"name": "admin", "scopes": ["admin"]}).json()["key"]
    with server.client(runs_only) as narrowed:
        assert_error(narrowed.get("/v1/admin/users"), 403, "permission_denied")
        assert narrowed.get("/v1/me").status_code == 200  # reading one's own things needs no scope
    with server.client(with_admin) as admin_scoped:
        assert admin_scoped.get("/v1/admin/users").status_code == 200


def test_a_capped_key_makes_no_keys(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    """Each key has its own daily budget, so a capped key making keys would multiply its cap."""
    with server.client(demo[ALICE].key) as alice:
        capped = alice.post("/v1/keys", json={"name": "ci", "daily_cost_usd": 2}).json()["key"]
        before = len(alice.get("/v1/keys").json()["items"])
    with server.client(capped) as ci:
        error = assert_error(ci.post("/v1/keys", json={"name": "more"}), 403, "permission_denied")
        assert "cap" in error["message"]
        assert len(ci.get("/v1/keys").json()["items"]) == before
