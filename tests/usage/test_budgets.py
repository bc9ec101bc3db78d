"""Cost budgets: a user's daily cap (their tier's), an agent's, an API key's, and a run's own max_cost_usd. A run
is refused before it starts once a cap is reached (429 `budget_exceeded`, saying when it resets, with
Retry-After), and stopped between model requests when the next would pass it (`failed`, `budget_exceeded`, what
it did kept). `spender` loops calling a tool, each response $0.0075 on gpt-4o; models without a price never stop."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.fixtures.demo import DemoUser
from tests.fixtures.server import LiveServer
from tests.schedules.conftest import Api
from tests.triggers.helpers import create_trigger, send, standard_headers, stored_counts
from tests.usage.conftest import ALICE, BOB, run_and_wait, steps

Start = Callable[..., tuple[LiveServer, dict[str, DemoUser]]]
RESPONSE_USD = 0.0075


def tier_cap(usd: str) -> dict[str, Any]:
    return {"tiers": {"free": {"daily_cost_usd": usd}}}  # the demo users' tier


def rejected(budget: str, when: str) -> float:
    """switchboard_budget_rejections_total (the test server runs in this process)."""
    return REGISTRY.get_sample_value("switchboard_budget_rejections_total", {"budget": budget, "when": when}) or 0.0


def assert_stopped(client: httpx.Client, run: dict[str, Any], requests: int) -> None:
    """Failed with budget_exceeded after `requests` model responses, each one's tool call done and kept."""
    assert run["status"] == "failed", run
    assert run["error"]["type"] == "budget_exceeded", run["error"]
    assert run["usage"]["requests"] == requests
    assert run["cost_usd"] == pytest.approx(RESPONSE_USD * requests)
    assert len([s for s in steps(client, run["id"]) if s["status"] == "succeeded"]) == requests
    assert len(steps(client, run["id"], "tool_call")) == requests


def assert_refused(response: httpx.Response, budget: str) -> None:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["type"] == "budget_exceeded"
    assert error["details"]["budget"] == budget
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert error["details"]["resets_at"] == f"{tomorrow}T00:00:00Z"
    assert tomorrow in error["message"]
    midnight = datetime.fromisoformat(f"{tomorrow}T00:00:00+00:00")
    assert abs(int(response.headers["Retry-After"]) - math.ceil((midnight - datetime.now(UTC)).total_seconds())) <= 2


def test_the_users_daily_budget_stops_a_run_and_then_refuses_new_ones(usage_server: Start) -> None:
    server, users = usage_server(**tier_cap("0.007"))
    rejections = {when: rejected("user", when) for when in ("start", "mid_run")}
    with server.client(users[ALICE].key) as client:
        run = run_and_wait(client, "spender")  # its first response spends the day's budget
        assert_stopped(client, run, requests=1)
        assert "would pass" in run["error"]["message"]

        refused = client.post("/v1/runs", json={"agent": "priced", "message": "one more"})
        assert_refused(refused, "user")
        assert refused.json()["error"]["details"]["spent_usd"] == pytest.approx(RESPONSE_USD)
        assert refused.json()["error"]["details"]["limit_usd"] == 0.007
    with server.client(users[BOB].key) as client:  # Bob's budget is his own
        assert run_and_wait(client, "priced")["status"] == "succeeded"
    assert {when: rejected("user", when) - rejections[when] for when in rejections} == {"start": 1, "mid_run": 1}


def test_a_run_is_stopped_before_the_request_that_would_pass_the_budget(usage_server: Start) -> None:
    server, users = usage_server(**tier_cap("0.02"))
    with server.client(users[ALICE].key) as client:
        run = run_and_wait(client, "spender")

        # $0.015 spent; the next request, expected to cost as much as the last, would make it $0.0225.
        assert_stopped(client, run, requests=2)


def test_an_agents_daily_budget_counts_every_users_runs_of_it(usage_server: Start) -> None:
    server, users = usage_server(agent_daily_cost_usd={"spender": "0.007"})
    with server.client(users[ALICE].key) as client:
        assert_stopped(client, run_and_wait(client, "spender"), requests=1)
        assert run_and_wait(client, "priced")["status"] == "succeeded"  # other agents go on
    with server.client(users[BOB].key) as client:
        assert_refused(client.post("/v1/runs", json={"agent": "spender", "message": "me too"}), "agent")


def test_an_api_keys_daily_budget_holds_for_runs_made_with_it(usage_server: Start) -> None:
    server, users = usage_server()
    with server.client(users[ALICE].key) as client:
        created = client.post("/v1/keys", json={"name": "capped", "daily_cost_usd": 0.007})
        assert created.status_code == 201, created.text
    with server.client(created.json()["key"]) as capped:
        assert_stopped(capped, run_and_wait(capped, "spender"), requests=1)
        assert_refused(capped.post("/v1/runs", json={"agent": "priced", "message": "again"}), "api_key")
    with server.client(users[ALICE].key) as client:  # her other key has no cap
        assert run_and_wait(client, "priced")["status"] == "succeeded"


@pytest.mark.parametrize(
    ("max_cost_usd", "tool_calls"),
    [
        (0.01, 1),  # stopped before its second request ($0.015 > $0.01), by the run's gate
        (0.005, 0),  # its first response passes it: stopped at once, by Pydantic AI's cost_limit, its tool not run
    ],
)
def test_a_runs_own_max_cost_usd_stops_it_and_counts_what_it_spent(
    usage_server: Start, max_cost_usd: float, tool_calls: int
) -> None:
    server, users = usage_server()
    with server.client(users[ALICE].key) as client:
        run = run_and_wait(client, "spender", limits={"max_cost_usd": max_cost_usd})

        assert run["limits"]["max_cost_usd"] == max_cost_usd
        assert run["status"] == "failed", run
        assert run["error"]["type"] == "budget_exceeded", run["error"]
        assert "max_cost_usd" in run["error"]["message"]
        assert run["usage"]["requests"] == 1
        assert run["cost_usd"] == pytest.approx(RESPONSE_USD)  # the response that passed it was billed: counted
        assert [s["cost_usd"] for s in steps(client, run["id"]) if s["status"] == "succeeded"] == [
            pytest.approx(RESPONSE_USD)
        ]
        assert len(steps(client, run["id"], "tool_call")) == tool_calls
        assert client.get("/v1/usage").json()["total"]["cost_usd"] == pytest.approx(RESPONSE_USD)


def test_models_without_a_price_are_not_stopped_by_budgets_in_dollars(usage_server: Start) -> None:
    server, users = usage_server(**tier_cap("0.001"))
    with server.client(users[ALICE].key) as client:
        runs = [run_and_wait(client, "free", f"offline {n}") for n in range(3)]

    assert [run["status"] for run in runs] == ["succeeded"] * 3
    assert [run["cost_usd"] for run in runs] == [None] * 3


def test_a_schedule_tick_refused_by_a_budget_is_missed_and_the_schedule_carries_on(usage_server: Start) -> None:
    server, users = usage_server(**tier_cap("0.007"))
    api = Api(server, users)
    with api.client(ALICE) as client:
        assert_stopped(client, run_and_wait(client, "spender"), requests=1)  # the day's budget spent
        schedule = api.create(client, agent="priced", cron="0 9 * * *")
        tick = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
        api.set_next_fire_at(schedule["id"], tick)

        assert api.drive([tick + timedelta(seconds=10)]) == [0]  # (or the server's own scheduler refused it)
        shown = client.get(f"/v1/schedules/{schedule['id']}").json()

    assert shown["enabled"] is True, shown
    assert shown["missed_ticks"] == 1
    assert shown["last_run_id"] is None
    assert shown["next_fire_at"] is not None


def test_a_triggers_event_refused_by_a_budget_is_429_and_stored_nowhere_so_a_retry_can_succeed(
    usage_server: Start,
) -> None:
    server, users = usage_server(**tier_cap("0.007"))
    event = json.dumps({"order": 1}).encode()
    with server.client(users[ALICE].key) as client, server.client() as sender:
        trigger = create_trigger(client, agent="priced")
        assert_stopped(client, run_and_wait(client, "spender"), requests=1)  # the day's budget spent

        refused = send(sender, trigger, event, standard_headers(trigger["secret"], event, "msg_budget"))

    assert_refused(refused, "user")
    assert stored_counts(server.database_url, trigger["id"]) == (0, 0)  # the sender's retry is a new delivery


def test_a_chat_turn_stopped_by_a_budget_answers_429_and_the_next_is_refused(usage_server: Start) -> None:
    server, users = usage_server(**tier_cap("0.007"))
    with server.client(users[ALICE].key) as client:
        stopped = client.post("/v1/chat", json={"agent": "spender", "message": "spend"})
        refused = client.post("/v1/chat", json={"agent": "priced", "message": "and now?"})

    assert stopped.status_code == 429, stopped.text
    assert stopped.json()["error"]["type"] == "budget_exceeded"
    assert "would pass" in stopped.json()["error"]["message"]
    assert 0 < int(stopped.headers["retry-after"]) <= 86400  # the budget resets at midnight UTC
    assert_refused(refused, "user")
