"""The demo's refund tool needs a person's approval: the turn pauses in `requires_action`, and the refund is made
only once approved; a denial is told to the customer and the order is left as it was."""

from __future__ import annotations

import time
from typing import Any

import httpx

from switchboard.models.runs import RunStatus, StepStatus
from tests.fixtures.demo import DemoUser
from tests.fixtures.http import assert_error
from tests.fixtures.server import LiveServer

BOB = "bob@example.com"  # owns order 3, shipped
ALICE = "alice@example.com"  # owns order 2, processing
ADMIN = "admin@example.com"


def statuses(client: httpx.Client) -> dict[int, str]:
    return {order["id"]: order["status"] for order in client.get("/demo/orders").json()}


def settled(client: httpx.Client, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        run: dict[str, Any] = client.get(f"/v1/runs/{run_id}").json()
        if run["status"] in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.TIMED_OUT):
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish: {run}")


def ask_for_refund(client: httpx.Client, order_id: int) -> dict[str, Any]:
    response = client.post("/v1/chat", json={"agent": "support", "message": f"Please refund order {order_id}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_refund_waits_for_approval_then_happens(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[BOB].key) as client:
        paused = ask_for_refund(client, 3)
        before = statuses(client)
        [pending] = paused["pending_approvals"]
        decided = client.post(
            f"/v1/runs/{paused['run_id']}/approvals", json={"tool_call_id": pending["tool_call_id"], "approve": True}
        )
        run = settled(client, paused["run_id"])
        after = statuses(client)
        messages = client.get(f"/v1/threads/{paused['thread_id']}/messages").json()["items"]
    assert paused["status"] == RunStatus.REQUIRES_ACTION
    assert (pending["tool_name"], pending["args"]) == ("refund_order", {"order_id": 3})
    assert "Waiting for approval of: refund_order" in paused["reply"]
    assert f"POST /v1/runs/{paused['run_id']}/approvals" in paused["reply"]  # says how to decide
    assert before[3] == "shipped"  # nothing happened before the approval
    assert decided.status_code == 200, decided.text
    assert run["status"] == RunStatus.SUCCEEDED
    assert run["output"].startswith("Done! Order #3 has been refunded.")
    assert after[3] == "refunded"
    assert messages[-1]["text"] == run["output"]


def test_a_denied_refund_never_happens_and_the_customer_is_told_why(
    server: LiveServer, demo: dict[str, DemoUser]
) -> None:
    with server.client(demo[BOB].key) as client:
        paused = ask_for_refund(client, 3)
        call_id = paused["pending_approvals"][0]["tool_call_id"]
        client.post(
            f"/v1/runs/{paused['run_id']}/approvals",
            json={"tool_call_id": call_id, "approve": False, "reason": "the parcel is still in transit"},
        )
        run = settled(client, paused["run_id"])
        after = statuses(client)
        steps = client.get(f"/v1/runs/{paused['run_id']}/steps").json()
    assert run["status"] == RunStatus.SUCCEEDED
    assert run["output"] == "The refund was not made. The user denied this tool call: the parcel is still in transit"
    assert after[3] == "shipped"
    [refund] = [step for step in steps if step["kind"] == "tool_call"]
    assert (refund["status"], refund["approved"], refund["decision_reason"]) == (
        StepStatus.DENIED,
        False,
        "the parcel is still in transit",
    )


def test_only_the_runs_owner_can_decide(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[BOB].key) as bob:
        paused = ask_for_refund(bob, 3)
    call_id = paused["pending_approvals"][0]["tool_call_id"]
    with server.client(demo[ALICE].key) as alice:
        response = alice.post(f"/v1/runs/{paused['run_id']}/approvals", json={"tool_call_id": call_id, "approve": True})
    assert_error(response, 404, "not_found")
    with server.client(demo[BOB].key) as bob:
        assert bob.get(f"/v1/runs/{paused['run_id']}").json()["status"] == RunStatus.REQUIRES_ACTION
        assert statuses(bob)[3] == "shipped"


def test_rules_refuse_refunds_of_orders_not_yet_shipped(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[ALICE].key) as client:
        paused = ask_for_refund(client, 2)
        call_id = paused["pending_approvals"][0]["tool_call_id"]
        client.post(f"/v1/runs/{paused['run_id']}/approvals", json={"tool_call_id": call_id, "approve": True})
        run = settled(client, paused["run_id"])
        after = statuses(client)
    assert "only shipped or delivered orders can be refunded" in run["output"]
    assert after[2] == "processing"


def test_the_support_route_returns_the_run_and_refuses_a_message_behind_a_pending_approval(
    server: LiveServer, demo: dict[str, DemoUser]
) -> None:
    with server.client(demo[BOB].key) as bob:
        paused = bob.post("/api/v1/chat", json={"prompt": "Please refund order 3"})
        assert paused.status_code == 200, paused.text
        body = paused.json()
        [pending] = body["pending_approvals"]
        assert (body["status"], pending["tool_name"]) == (RunStatus.REQUIRES_ACTION, "refund_order")
        assert f"POST /v1/runs/{body['run_id']}/approvals" in body["response"]

        started = time.monotonic()
        blocked = bob.post("/api/v1/chat", json={"prompt": "What about my other orders?"})
        error = assert_error(blocked, 409, "conflict")
        assert time.monotonic() - started < 5  # at once, not after the run's wait
        assert body["run_id"] in error["message"]
        assert pending["tool_call_id"] in error["message"]
        assert "/approvals" in error["message"]
        # Refused, not queued: after a denial, that message never runs.
        denied = bob.post(
            f"/v1/runs/{body['run_id']}/approvals",
            json={"tool_call_id": pending["tool_call_id"], "approve": False, "reason": "no"},
        )
        assert denied.status_code == 200, denied.text
        settled(bob, body["run_id"])
        runs = bob.get("/v1/runs").json()["items"]
        assert [run["message"] for run in runs] == ["Please refund order 3"]
        assert bob.post("/api/v1/chat", json={"prompt": "Show me all my orders"}).status_code == 200


def test_run_lists_show_pending_approvals(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[BOB].key) as bob:
        paused = ask_for_refund(bob, 3)
        listed = bob.get("/v1/runs", params={"status": "requires_action"}).json()["items"]
    assert [run["pending_approvals"] for run in listed] == [paused["pending_approvals"]]


def test_admins_see_every_users_pending_approvals_and_decide_them(
    server: LiveServer, demo: dict[str, DemoUser]
) -> None:
    with server.client(demo[BOB].key) as bob:
        paused = ask_for_refund(bob, 3)
        own_queue = bob.get("/v1/approvals").json()["items"]
    [pending] = paused["pending_approvals"]
    with server.client(demo[ALICE].key) as alice:
        assert alice.get("/v1/approvals").json()["items"] == []  # a member sees only their own
    with server.client(demo[ADMIN].key) as admin:
        queue = admin.get("/v1/approvals").json()["items"]
        decided = admin.post(
            f"/v1/runs/{paused['run_id']}/approvals",
            json={"tool_call_id": pending["tool_call_id"], "approve": True},
        )
    assert [(item["run_id"], item["tool_call_id"]) for item in own_queue] == [
        (paused["run_id"], pending["tool_call_id"])
    ]
    [item] = [item for item in queue if item["run_id"] == paused["run_id"]]
    assert (item["user_id"], item["tool_name"], item["args"]) == (demo[BOB].user_id, "refund_order", {"order_id": 3})
    assert item["decide"] == f"POST /v1/runs/{paused['run_id']}/approvals"
    assert decided.status_code == 200, decided.text
    with server.client(demo[BOB].key) as bob:
        run = settled(bob, paused["run_id"])
        steps = bob.get(f"/v1/runs/{paused['run_id']}/steps").json()
        assert statuses(bob)[3] == "refunded"
        assert bob.get("/v1/approvals").json()["items"] == []
    assert run["status"] == RunStatus.SUCCEEDED
    [refund] = [step for step in steps if step["kind"] == "tool_call"]
    assert (refund["approved"], refund["decided_by"]) == (True, demo[ADMIN].user_id)  # recorded: who decided
