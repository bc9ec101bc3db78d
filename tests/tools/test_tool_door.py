"""The tool door over HTTP: `GET /v1/tools` and `POST /v1/tools/{name}`, as the caller, against PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client import REGISTRY

from tests.fixtures.demo import DemoUser
from tests.fixtures.server import LiveServer

ALICE, BOB, ADMIN = "alice@example.com", "bob@example.com", "admin@example.com"


def call(server: LiveServer, key: str, name: str, args: Any = None) -> httpx.Response:
    with server.client(key) as client:
        return client.post(f"/v1/tools/{name}", json={"args": args or {}})


def narrowed_key(server: LiveServer, key: str, scopes: list[str]) -> str:
    with server.client(key) as client:
        created = client.post("/v1/keys", json={"name": "narrow", "scopes": scopes})
    assert created.status_code == 201, created.text
    return str(created.json()["key"])


def test_list_shows_what_the_caller_may_call(tools_server: LiveServer, people: dict[str, DemoUser]) -> None:
    with tools_server.client(people[ALICE].key) as client:
        member = {t["name"]: t for t in client.get("/v1/tools").json()}
    with tools_server.client(people[ADMIN].key) as client:
        admin = {t["name"]: t for t in client.get("/v1/tools").json()}
    assert "users_count" not in member
    assert "users_count" in admin
    assert "run_only" not in member
    assert "run_only" not in admin
    whoami = member["whoami"]
    assert whoami["agents"] == ["other_box", "toolbox"]  # one function shared by both: one name
    assert member["bump_effect"]["args_schema"]["properties"]["key"]["type"] == "string"
    assert member["bump_effect"]["idempotent"] is False
    assert member["sleepy"]["timeout_seconds"] == 0.3
    assert member["whoami"]["timeout_seconds"] == 30
    assert member["payout"]["requires_approval"] is True
    # Two different tools named `describe`: each only by its qualified name.
    assert "describe" not in member
    assert {"toolbox.describe", "other_box.describe"} <= set(member)
    assert "get_order" in member
    assert "ask_echo" not in member


def test_call_acts_as_the_caller_and_commits(
    tools_server: LiveServer, people: dict[str, DemoUser], tool_effects: Callable[[], dict[str, int]]
) -> None:
    response = call(tools_server, people[ALICE].key, "whoami")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tool"] == "whoami"
    assert body["result"]["user_id"] == people[ALICE].user_id
    assert body["result"]["request_id"] == response.headers["x-request-id"]
    assert call(tools_server, people[BOB].key, "bump_effect", {"key": "k1"}).status_code == 200
    assert tool_effects() == {"k1": people[BOB].user_id}
    assert call(tools_server, people[ALICE].key, "toolbox.describe").json()["result"] == "toolbox"
    assert call(tools_server, people[ALICE].key, "other_box.describe").json()["result"] == "other box"
    assert call(tools_server, people[ALICE].key, "toolbox.whoami").status_code == 200


def test_demo_tool_through_the_door_sees_only_the_callers_orders(
    tools_server: LiveServer, people: dict[str, DemoUser]
) -> None:
    own = call(tools_server, people[ALICE].key, "get_order", {"order_id": 2}).json()["result"]
    theirs = call(tools_server, people[ALICE].key, "get_order", {"order_id": 3}).json()["result"]
    assert own["found"] is True
    assert theirs["found"] is False
    cancel = call(tools_server, people[ALICE].key, "cancel_order", {"order_id": 3})
    assert cancel.json()["result"]["outcome"] == "not_found"
    with tools_server.client(people[BOB].key) as client:
        assert {o["id"]: o["status"] for o in client.get("/demo/orders").json()} == {3: "shipped"}


def test_refusals(tools_server: LiveServer, people: dict[str, DemoUser]) -> None:
    alice = people[ALICE].key
    unknown = call(tools_server, alice, "no_such_tool")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "not_found"
    assert call(tools_server, alice, "run_only").status_code == 404
    assert call(tools_server, alice, "ask_echo").status_code == 404
    ambiguous = call(tools_server, alice, "describe")
    assert ambiguous.status_code == 404
    assert "toolbox.describe" in ambiguous.json()["error"]["message"]
    admin_only = call(tools_server, alice, "users_count")
    assert admin_only.status_code == 403
    assert "admin" in admin_only.json()["error"]["message"]
    assert call(tools_server, people[ADMIN].key, "users_count").json()["result"] == 4
    gated = call(tools_server, alice, "payout", {"amount": 5})
    assert gated.status_code == 409
    assert "approval" in gated.json()["error"]["message"]
    assert call(tools_server, alice, "refund_order", {"order_id": 2}).status_code == 409


def test_scopes(tools_server: LiveServer, people: dict[str, DemoUser]) -> None:
    runs_only = narrowed_key(tools_server, people[ALICE].key, ["runs:write"])
    refused = call(tools_server, runs_only, "whoami")
    assert refused.status_code == 403
    assert "tools:call" in refused.json()["error"]["message"]
    with tools_server.client(runs_only) as client:
        assert client.get("/v1/tools").json() == []
    tools_only = narrowed_key(tools_server, people[ALICE].key, ["tools:call"])
    assert call(tools_server, tools_only, "whoami").status_code == 200
    # An admin's key without the admin scope is a member's key for admin-only tools.
    admin_tools = narrowed_key(tools_server, people[ADMIN].key, ["tools:call"])
    assert call(tools_server, admin_tools, "users_count").status_code == 403


def test_invalid_args_are_422_per_field(tools_server: LiveServer, people: dict[str, DemoUser]) -> None:
    alice = people[ALICE].key
    missing = call(tools_server, alice, "bump_effect", {})
    assert missing.status_code == 422
    assert missing.json()["error"]["details"][0]["field"] == "args.key"
    wrong = call(tools_server, alice, "sleepy", {"key": "x", "seconds": "soon"})
    assert wrong.status_code == 422
    assert wrong.json()["error"]["details"][0]["field"] == "args.seconds"
    extra = call(tools_server, alice, "whoami", {"user_id": 3})
    assert extra.status_code == 422, extra.text  # a tool without a user id parameter takes none
    with tools_server.client(alice) as client:
        not_object = client.post("/v1/tools/whoami", json={"args": [1]})
    assert not_object.status_code == 422


def counted(tool: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("switchboard_tool_calls_total", {"tool": tool, "outcome": outcome}) or 0.0


def test_failures_roll_back_and_say_why(
    tools_server: LiveServer, people: dict[str, DemoUser], tool_effects: Callable[[], dict[str, int]]
) -> None:
    alice = people[ALICE].key
    before = {outcome: counted("picky", outcome) for outcome in ("ok", "error")}
    timeouts = counted("sleepy", "timeout")
    retry = call(tools_server, alice, "picky", {"n": -1})
    assert retry.status_code == 422
    assert "must not be negative" in retry.json()["error"]["message"]
    refused = call(tools_server, alice, "picky", {"n": 0})
    assert refused.status_code == 400
    assert "must not be zero" in refused.json()["error"]["message"]
    bug = call(tools_server, alice, "picky", {"n": 13})
    assert bug.status_code == 502
    assert bug.json()["error"]["type"] == "tool_error"
    assert "secret" not in bug.text
    timed_out = call(tools_server, alice, "sleepy", {"key": "late", "seconds": 2})
    assert timed_out.status_code == 504
    assert timed_out.json()["error"]["type"] == "tool_timeout"
    assert call(tools_server, alice, "sleepy", {"key": "early"}).status_code == 200
    assert tool_effects() == {"early": people[ALICE].user_id}  # nothing of the failed calls was committed
    assert counted("picky", "error") == before["error"] + 3
    assert counted("picky", "ok") == before["ok"]
    assert counted("sleepy", "timeout") == timeouts + 1
