"""GET /v1/usage and GET /v1/admin/usage: each model response counted once (a child run's in its own agent's
group), the totals equal to the sum over the caller's top-level runs, your own usage only, admins' across users."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.fixtures.demo import DemoUser
from tests.fixtures.http import create_run, wait_for_status
from tests.fixtures.server import LiveServer
from tests.usage.conftest import ADMIN, ALICE, BOB, run_and_wait

Start = Callable[..., tuple[LiveServer, dict[str, DemoUser]]]
COUNTS = ("requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "unpriced_requests")


def usage(client: httpx.Client, path: str = "/v1/usage", **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def top_level_runs(client: httpx.Client) -> list[dict[str, Any]]:
    runs = client.get("/v1/runs", params={"limit": 100}).json()["items"]
    return [run for run in runs if run["parent_id"] is None]


@pytest.fixture
def alices_runs(usage_server: Start) -> tuple[LiveServer, dict[str, DemoUser]]:
    """Alice's runs: priced ones (whole and streamed), an agent that delegates to another, a pipeline of two
    steps, the operator-priced model and the offline one. Bob has one priced run."""
    server, users = usage_server()
    with server.client(users[ALICE].key) as client:
        run_and_wait(client, "priced")
        run_and_wait(client, "house")
        run_and_wait(client, "free")
        for agent in ("priced", "boss", "pair"):
            run = wait_for_status(client, create_run(client, agent, f"{agent} in the background")["id"])
            assert run["status"] == "succeeded", run
    with server.client(users[BOB].key) as client:
        run_and_wait(client, "priced")
    return server, users


def test_the_totals_equal_the_sum_over_the_callers_top_level_runs(alices_runs: tuple[LiveServer, Any]) -> None:
    server, users = alices_runs
    with server.client(users[ALICE].key) as client:
        runs = top_level_runs(client)
        for group_by in ("day", "agent", "model"):
            report = usage(client, group_by=group_by)
            total = report["total"]

            for count in COUNTS:
                assert total[count] == sum(run["usage"][count] for run in runs), (group_by, count)
            assert total["cost_usd"] == pytest.approx(sum(run["cost_usd"] or 0 for run in runs))
            for count in (*COUNTS, "runs"):
                assert sum(group[count] for group in report["groups"]) == total[count], (group_by, count)
            assert sum(group["cost_usd"] or 0 for group in report["groups"]) == pytest.approx(total["cost_usd"])
        assert total["unpriced_requests"] == 1  # the offline model's one response
        assert total["runs"] == 8  # the runs that made requests: 5 top-level (not the pipeline), 3 children


def test_groups_by_day_agent_and_model(alices_runs: tuple[LiveServer, Any]) -> None:
    server, users = alices_runs
    with server.client(users[ALICE].key) as client:
        by_day = usage(client, group_by="day")
        by_agent = {group["key"]: group for group in usage(client, group_by="agent")["groups"]}
        by_model = {group["key"]: group for group in usage(client, group_by="model")["groups"]}

    assert [group["key"] for group in by_day["groups"]] == [datetime.now(UTC).date().isoformat()]
    assert set(by_agent) == {"priced", "house", "free", "boss"}  # a pipeline makes no request of its own
    assert by_agent["priced"]["requests"] == 5  # 2 of its own runs, the boss's child, the pipeline's 2 steps
    assert by_agent["priced"]["runs"] == 5
    assert by_agent["boss"]["requests"] == 2
    assert by_agent["free"]["cost_usd"] is None
    assert by_agent["free"]["unpriced_requests"] == 1
    assert by_agent["house"]["cost_usd"] == pytest.approx(0.00125)
    assert set(by_model) == {"gpt-4o", "house-model", "offline"}
    assert by_model["gpt-4o"]["requests"] == 7
    assert by_model["offline"]["cost_usd"] is None


def test_a_member_sees_only_their_own_usage(alices_runs: tuple[LiveServer, Any]) -> None:
    server, users = alices_runs
    with server.client(users[BOB].key) as client:
        report = usage(client, group_by="agent")
        refused = client.get("/v1/admin/usage")

    assert report["user_id"] == users[BOB].user_id
    assert [(group["key"], group["requests"]) for group in report["groups"]] == [("priced", 1)]
    assert report["total"]["cost_usd"] == pytest.approx(0.0075)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["type"] == "permission_denied"


def test_an_admin_sees_every_users_usage_by_user_and_one_users_alone(alices_runs: tuple[LiveServer, Any]) -> None:
    server, users = alices_runs
    with server.client(users[ALICE].key) as client:
        alices = usage(client)["total"]
    with server.client(users[ADMIN].key) as client:
        by_user = {group["key"]: group for group in usage(client, "/v1/admin/usage", group_by="user")["groups"]}
        only_alice = usage(client, "/v1/admin/usage", group_by="model", user_id=users[ALICE].user_id)
        everyone = usage(client, "/v1/admin/usage", group_by="model")

    alice, bob = by_user[str(users[ALICE].user_id)], by_user[str(users[BOB].user_id)]
    assert alice["email"] == ALICE
    assert {key: alice[key] for key in alices} == alices
    assert bob["requests"] == 1
    assert only_alice["total"] == alices
    assert everyone["total"]["requests"] == alices["requests"] + 1


def test_a_period_without_requests_is_empty_and_bad_parameters_are_422(usage_server: Start) -> None:
    server, users = usage_server()
    now = datetime.now(UTC)
    with server.client(users[ALICE].key) as client:
        run_and_wait(client, "priced")
        earlier = usage(
            client, since=(now - timedelta(days=3)).isoformat(), until=(now - timedelta(days=2)).isoformat()
        )
        backwards = client.get("/v1/usage", params={"since": "2026-02-01", "until": "2026-01-01"})
        too_long = client.get("/v1/usage", params={"since": "2020-01-01", "until": "2026-01-01"})
        bad_group = client.get("/v1/usage", params={"group_by": "user"})  # admins only
        bad_date = client.get("/v1/usage", params={"since": "yesterday"})
        year_one = client.get("/v1/usage", params={"until": "0001-01-01"})  # 30 days before it is no date
        past_9999 = client.get("/v1/usage", params={"since": "9999-12-31T23:59:59-23:59"})  # in UTC, year 10000

    assert earlier["groups"] == []
    assert earlier["total"]["requests"] == 0
    assert earlier["total"]["cost_usd"] is None
    for response, field in (
        (backwards, "since"),
        (too_long, "until"),
        (bad_group, "group_by"),
        (bad_date, "since"),
        (year_one, "until"),
        (past_9999, "since"),
    ):
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["type"] == "validation_error"
        assert [problem["field"] for problem in error["details"]] == [field]
