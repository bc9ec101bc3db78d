"""Tool declarations inside runs: a tool's time limit (the model is told it timed out, the run goes on, the call
is never re-run) and a tool's rights, which come only from the run's user. The model is a fake OpenAI server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY

from tests.fakes.openai_server import FakeOpenAI, call, reply
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.http import wait_for_status
from tests.fixtures.server import LiveServer
from tests.tools.conftest import TOOLS_PLUGIN

ALICE, ADMIN = "alice@example.com", "admin@example.com"


@pytest.fixture
def served(
    make_server: Callable[..., LiveServer], fake: FakeOpenAI, tool_effects: Any
) -> tuple[LiveServer, dict[str, DemoUser]]:
    server = make_server(
        plugins=[TOOLS_PLUGIN],
        **fake.server_settings(),
    )
    return server, seed_demo(server.settings)


def run(server: LiveServer, user: DemoUser, message: str = "go") -> dict[str, Any]:
    with server.client(user.key) as client:
        response = client.post("/v1/runs/wait", json={"agent": "toolbox", "message": message})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def steps(server: LiveServer, user: DemoUser, run_id: str) -> list[dict[str, Any]]:
    with server.client(user.key) as client:
        found: list[dict[str, Any]] = client.get(f"/v1/runs/{run_id}/steps").json()
    return found


def sample(tool: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("switchboard_tool_calls_total", {"tool": tool, "outcome": outcome}) or 0.0


def test_a_tool_past_its_limit_is_stopped_and_the_model_told(
    served: tuple[LiveServer, dict[str, DemoUser]], fake: FakeOpenAI, tool_effects: Callable[[], dict[str, int]]
) -> None:
    server, people = served
    before = sample("sleepy", "timeout")
    fake.add(call("sleepy", {"key": "slow", "seconds": 5}), reply("It took too long."))
    finished = run(server, people[ALICE])
    assert finished["status"] == "succeeded"
    assert finished["output"] == "It took too long."
    told = list(fake.completion_requests[1].tool_results().values())
    assert len(told) == 1
    assert told[0].startswith("Timed out: the tool sleepy did not finish within its time limit of 0.3 seconds")
    (step,) = [s for s in steps(server, people[ALICE], finished["id"]) if s["kind"] == "tool_call"]
    assert step["status"] == "failed"
    assert step["result"] == told[0]
    assert tool_effects() == {}  # its write was rolled back
    assert sample("sleepy", "timeout") == before + 1


def test_tools_the_user_may_not_call_are_not_offered_nor_run(
    served: tuple[LiveServer, dict[str, DemoUser]], fake: FakeOpenAI
) -> None:
    server, people = served
    fake.add(call("users_count"), reply("I cannot count users."))
    finished = run(server, people[ALICE])
    assert finished["status"] == "succeeded"
    first, second = fake.completion_requests
    assert "users_count" not in first.tools
    assert "whoami" in first.tools
    # Pydantic AI answers a call to a tool it does not offer as an unknown tool: it never runs.
    assert "Unknown tool name: 'users_count'" in str(second.messages[-1].get("content"))
    assert not [s for s in steps(server, people[ALICE], finished["id"]) if s["kind"] == "tool_call"]
    fake.add(call("users_count"), reply("done"))
    admin_run = run(server, people[ADMIN])
    assert "users_count" in fake.completion_requests[2].tools
    assert list(fake.completion_requests[3].tool_results().values()) == ["4"]
    assert admin_run["output"] == "done"


def test_a_narrowed_keys_run_keeps_the_keys_rights_when_it_resumes(
    served: tuple[LiveServer, dict[str, DemoUser]], fake: FakeOpenAI
) -> None:
    """An admin's key without the admin scope starts a run: its admin-only tools are not offered, neither at first
    nor once the run resumes after an approval (read back from the database, with the key's scopes)."""
    server, people = served
    with server.client(people[ADMIN].key) as client:
        narrowed = client.post("/v1/keys", json={"name": "runs only", "scopes": ["runs:write"]}).json()["key"]
    fake.add(call("payout", {"amount": 5}), reply("Paid."))
    with server.client(narrowed) as client:
        paused = client.post("/v1/runs/wait", json={"agent": "toolbox", "message": "pay"}).json()
        assert paused["status"] == "requires_action"
        (step,) = [s for s in client.get(f"/v1/runs/{paused['id']}/steps").json() if s["kind"] == "tool_call"]
        decided = client.post(
            f"/v1/runs/{paused['id']}/approvals", json={"tool_call_id": step["tool_call_id"], "approve": True}
        )
        assert decided.status_code == 200, decided.text
        finished = wait_for_status(client, paused["id"])
    assert finished["status"] == "succeeded"
    first, resumed = fake.completion_requests
    assert "users_count" not in first.tools
    assert "users_count" not in resumed.tools
