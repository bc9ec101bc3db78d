"""What model responses cost, per step and per run: genai-prices' numbers for a model it knows (`gpt-4o`), the
operator's for their own model, null (never 0) for a model without a price, and a parent's cost including its
child runs'."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from genai_prices import calc_price
from prometheus_client import REGISTRY
from pydantic_ai.usage import RequestUsage

from tests.fixtures.demo import DemoUser
from tests.fixtures.http import create_run, get_run, wait_for_status
from tests.fixtures.server import LiveServer
from tests.usage.conftest import ALICE, run_and_wait, steps

Start = Callable[..., tuple[LiveServer, dict[str, DemoUser]]]
GPT_4O_RESPONSE = 0.0075  # 1,000 input tokens at $2.50/M and 500 output at $10/M (genai-prices)


def genai_price(usage: dict[str, int]) -> float:
    request = RequestUsage(input_tokens=usage["input_tokens"], output_tokens=usage["output_tokens"])
    return float(calc_price(request, "gpt-4o").total_price)


def test_a_priced_model_costs_what_genai_prices_says_per_step_and_per_run(usage_server: Start) -> None:
    server, users = usage_server()
    with server.client(users[ALICE].key) as client:
        run = run_and_wait(client, "priced")

        assert run["status"] == "succeeded", run
        assert run["cost_usd"] == pytest.approx(GPT_4O_RESPONSE)
        assert run["usage"] == {
            "requests": 1,
            "tool_calls": 0,
            "input_tokens": 1000,
            "output_tokens": 500,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
            "unpriced_requests": 0,
        }
        (step,) = steps(client, run["id"])
        assert step["cost_usd"] == pytest.approx(GPT_4O_RESPONSE)
        assert step["usage"]["input_tokens"] == 1000
        assert step["usage"]["cache_read_tokens"] == 0
        assert get_run(client, run["id"])["cost_usd"] == pytest.approx(GPT_4O_RESPONSE)
        listed = client.get("/v1/runs").json()
        assert [r["cost_usd"] for r in listed["items"]] == [pytest.approx(GPT_4O_RESPONSE)]


def test_a_streamed_run_is_priced_from_its_own_token_counts(usage_server: Start) -> None:
    server, users = usage_server()
    with server.client(users[ALICE].key) as client:
        run = wait_for_status(client, create_run(client, "priced", "stream me")["id"])

        (step,) = steps(client, run["id"])
        assert step["cost_usd"] == pytest.approx(genai_price(step["usage"]))
        assert run["cost_usd"] == pytest.approx(step["cost_usd"])


def test_a_model_without_a_price_has_a_null_cost_never_zero(usage_server: Start) -> None:
    server, users = usage_server()
    with server.client(users[ALICE].key) as client:
        run = run_and_wait(client, "free")  # the offline model

        assert run["status"] == "succeeded", run
        assert run["cost_usd"] is None
        assert run["usage"]["requests"] == 1
        assert run["usage"]["unpriced_requests"] == 1
        (step,) = steps(client, run["id"])
        assert step["cost_usd"] is None


def test_the_operators_price_prices_their_own_model(usage_server: Start) -> None:
    server, users = usage_server()  # house-model: $0.50 in, $1.50 out per million tokens
    with server.client(users[ALICE].key) as client:
        run = run_and_wait(client, "house")

    assert run["cost_usd"] == pytest.approx(float(Decimal("0.0005") + Decimal("0.00075")))
    assert run["usage"]["unpriced_requests"] == 0


def test_the_operators_price_takes_precedence_over_genai_prices(usage_server: Start) -> None:
    server, users = usage_server(model_prices={"gpt-4o": {"input_per_mtok": 1, "output_per_mtok": 2}})
    with server.client(users[ALICE].key) as client:
        run = run_and_wait(client, "priced")

    assert run["cost_usd"] == pytest.approx(0.001 + 0.001)


def test_a_parents_cost_includes_its_child_runs_and_the_tree_shows_each(usage_server: Start) -> None:
    server, users = usage_server()
    with server.client(users[ALICE].key) as client:
        run = wait_for_status(client, create_run(client, "boss", "delegate this")["id"])
        assert run["status"] == "succeeded", run
        (child,) = client.get(f"/v1/runs/{run['id']}").json()["children"]
        own = steps(client, run["id"])

        assert child["agent"] == "priced"
        assert child["cost_usd"] == pytest.approx(steps(client, child["id"])[0]["cost_usd"])
        assert len(own) == 2
        assert run["cost_usd"] == pytest.approx(sum(step["cost_usd"] for step in own) + child["cost_usd"])
        assert run["usage"]["requests"] == 3


def test_a_pipelines_cost_is_its_steps(usage_server: Start) -> None:
    server, users = usage_server()
    with server.client(users[ALICE].key) as client:
        run = wait_for_status(client, create_run(client, "pair", "two at once")["id"])
        assert run["status"] == "succeeded", run
        children = client.get(f"/v1/runs/{run['id']}").json()["children"]

        assert len(children) == 2
        assert run["cost_usd"] == pytest.approx(sum(child["cost_usd"] for child in children))
        assert run["usage"]["requests"] == 2


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0  # the test server runs in this process


def test_each_response_counts_in_the_metrics_and_only_known_costs_add_dollars(usage_server: Start) -> None:
    server, users = usage_server()
    priced, offline = {"agent": "priced", "model": "gpt-4o"}, {"agent": "free", "model": "offline"}
    before = {
        "requests": metric("switchboard_model_requests_total", **priced),
        "input": metric("switchboard_model_tokens_total", **priced, type="input"),
        "output": metric("switchboard_model_tokens_total", **priced, type="output"),
        "cost": metric("switchboard_model_cost_usd_total", **priced),
        "offline": metric("switchboard_model_requests_total", **offline),
        "offline_cost": metric("switchboard_model_cost_usd_total", **offline),
    }
    with server.client(users[ALICE].key) as client:
        run_and_wait(client, "priced")
        run_and_wait(client, "free")

    assert metric("switchboard_model_requests_total", **priced) == before["requests"] + 1
    assert metric("switchboard_model_tokens_total", **priced, type="input") == before["input"] + 1000
    assert metric("switchboard_model_tokens_total", **priced, type="output") == before["output"] + 500
    assert metric("switchboard_model_cost_usd_total", **priced) == pytest.approx(before["cost"] + GPT_4O_RESPONSE)
    assert metric("switchboard_model_requests_total", **offline) == before["offline"] + 1
    assert metric("switchboard_model_cost_usd_total", **offline) == before["offline_cost"]


def test_a_chat_reply_shows_its_cost(usage_server: Start) -> None:
    server, users = usage_server()
    with server.client(users[ALICE].key) as client:
        priced = client.post("/v1/chat", json={"agent": "priced", "message": "hi"}).json()
        offline = client.post("/v1/chat", json={"agent": "free", "message": "hi"}).json()

    assert priced["cost_usd"] == pytest.approx(GPT_4O_RESPONSE)
    assert priced["usage"]["input_tokens"] == 1000
    assert priced["usage"]["cache_read_tokens"] == 0
    assert offline["cost_usd"] is None
    assert offline["usage"]["unpriced_requests"] == 1
