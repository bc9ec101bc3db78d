"""Tool calls that need approval: the run pauses in `requires_action`, an approved call runs exactly once and the
run resumes, a denied call never runs and the model is told why; decisions are checked; a pending approval
survives a server restart; chat shows the pending call too."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from switchboard.models.runs import RunStatus, StepStatus
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.http import assert_error, create_run, get_run, open_events, read_events, read_until, wait_for_status
from tests.fixtures.server import LiveServer, live_server, make_settings
from tests.runs.conftest import TEST_PLUGIN

ALICE = "alice@example.com"
Users = tuple[LiveServer, dict[str, DemoUser]]


def refund_lines(effects_log: Path) -> list[str]:
    return [line for line in effects_log.read_text().splitlines() if line.startswith("refund ")]


def paused_refund(client: httpx.Client, amount: int) -> dict[str, Any]:
    """A refunder run waiting for approval of its one `refund` call."""
    run = wait_for_status(client, create_run(client, "refunder", f"amount={amount}")["id"], RunStatus.REQUIRES_ACTION)
    [pending] = run["pending_approvals"]
    assert (pending["tool_name"], pending["args"]) == ("refund", {"amount": amount}), run
    assert pending["tool_call_id"]
    assert run["finished_at"] is None
    assert run["output"] is None
    return run


def decide(
    client: httpx.Client, run_id: str, tool_call_id: str, approve: bool, reason: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"tool_call_id": tool_call_id, "approve": approve}
    if reason is not None:
        body["reason"] = reason
    return client.post(f"/v1/runs/{run_id}/approvals", json=body)


def test_approved_call_runs_once_and_the_run_resumes(users: Users, effects_log: Path) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        run = paused_refund(client, 42)
        call_id = run["pending_approvals"][0]["tool_call_id"]
        assert refund_lines(effects_log) == []  # nothing ran while waiting
        with open_events(client, run["id"]) as stream:
            before = read_until(stream, "approval_required")
        assert before[-1].data["calls"] == [{"tool_call_id": call_id, "tool_name": "refund", "args": {"amount": 42}}]
        assert [e.data["status"] for e in before if e.type == "status"] == [RunStatus.QUEUED, RunStatus.RUNNING]

        response = decide(client, run["id"], call_id, True)
        assert response.status_code == 200, response.text
        decided = response.json()
        assert decided["status"] in (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.SUCCEEDED), decided
        assert decided["pending_approvals"] == []

        done = wait_for_status(client, run["id"])
        assert (done["status"], done["output"], done["error"]) == (
            RunStatus.SUCCEEDED,
            "refund result: refunded 42",
            None,
        )
        assert refund_lines(effects_log) == [f"refund 42 run={run['id']}"]

        events = read_events(client, run["id"])
        assert [e.id for e in events] == list(range(1, len(events) + 1))
        types = [e.type for e in events]
        assert types.index("approval_required") < types.index("approval_decided") < types.index("end")
        decision = events[types.index("approval_decided")].data
        assert decision == {
            "tool_call_id": call_id,
            "approved": True,
            "reason": None,
            "decided_by": people[ALICE].user_id,
        }
        statuses = [e.data["status"] for e in events if e.type == "status"]
        assert statuses == [
            RunStatus.QUEUED,
            RunStatus.RUNNING,
            RunStatus.REQUIRES_ACTION,
            RunStatus.QUEUED,
            RunStatus.RUNNING,
            RunStatus.SUCCEEDED,
        ]

        steps = client.get(f"/v1/runs/{run['id']}/steps").json()
        [tool] = [s for s in steps if s["kind"] == "tool_call"]
        assert (tool["tool_call_id"], tool["status"], tool["approved"]) == (call_id, StepStatus.SUCCEEDED, True)
        assert tool["result"] == "refunded 42"


def test_denied_call_never_runs_and_the_model_hears_why(users: Users, effects_log: Path) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        run = paused_refund(client, 900)
        call_id = run["pending_approvals"][0]["tool_call_id"]
        response = decide(client, run["id"], call_id, False, reason="over the limit without a manager")
        assert response.status_code == 200, response.text
        done = wait_for_status(client, run["id"])
        assert done["status"] == RunStatus.SUCCEEDED, done
        assert "over the limit without a manager" in done["output"]
        assert "denied" in done["output"]  # the model was told
        assert refund_lines(effects_log) == []

        steps = client.get(f"/v1/runs/{run['id']}/steps").json()
        [tool] = [s for s in steps if s["kind"] == "tool_call"]
        assert (tool["tool_call_id"], tool["status"], tool["approved"]) == (call_id, StepStatus.DENIED, False)
        assert tool["decision_reason"] == "over the limit without a manager"
        assert tool["result"] is None
        decision = next(e for e in read_events(client, run["id"]) if e.type == "approval_decided")
        assert decision.data == {
            "tool_call_id": call_id,
            "approved": False,
            "reason": "over the limit without a manager",
            "decided_by": people[ALICE].user_id,
        }


def test_decisions_are_checked(users: Users, effects_log: Path) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        run = paused_refund(client, 5)
        call_id = run["pending_approvals"][0]["tool_call_id"]
        assert_error(decide(client, run["id"], "no-such-call", True), 404, "not_found")
        error = assert_error(
            client.post(f"/v1/runs/{run['id']}/approvals", json={"tool_call_id": call_id}), 422, "validation_error"
        )
        assert "approve" in [d["field"] for d in error["details"]]
        assert get_run(client, run["id"])["status"] == RunStatus.REQUIRES_ACTION  # none of that decided anything

        assert decide(client, run["id"], call_id, True).status_code == 200
        assert_error(decide(client, run["id"], call_id, True), 409, "conflict")
        assert_error(decide(client, run["id"], call_id, False, reason="changed my mind"), 409, "conflict")
        wait_for_status(client, run["id"])
        assert_error(decide(client, run["id"], call_id, False), 409, "conflict")
        assert refund_lines(effects_log) == [f"refund 5 run={run['id']}"]

        echo = wait_for_status(client, create_run(client, "echo", "no tools here")["id"])
        error = assert_error(decide(client, echo["id"], "anything", True), 409, "conflict")
        assert RunStatus.REQUIRES_ACTION in error["message"]


def test_cancelling_a_paused_run_ends_it_and_the_call_never_runs(users: Users, effects_log: Path) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        run = paused_refund(client, 13)
        response = client.post(f"/v1/runs/{run['id']}/cancel")
        assert response.status_code == 200, response.text
        cancelled = response.json()
        assert (cancelled["status"], cancelled["pending_approvals"]) == (RunStatus.CANCELLED, [])
        end = read_events(client, run["id"])[-1]
        assert (end.type, end.data["status"]) == ("end", RunStatus.CANCELLED)
        call_id = run["pending_approvals"][0]["tool_call_id"]
        assert_error(decide(client, run["id"], call_id, True), 409, "conflict")
        assert get_run(client, run["id"])["status"] == RunStatus.CANCELLED
    assert refund_lines(effects_log) == []


def test_a_pending_approval_survives_a_restart(
    runs_server: Callable[..., LiveServer], db_url: str, tmp_path: Path, effects_log: Path
) -> None:
    with live_server(make_settings(db_url, tmp_path, plugins=[TEST_PLUGIN])) as first:
        people = seed_demo(first.settings)
        with first.client(people[ALICE].key) as client:
            run = paused_refund(client, 77)
    # The first server is gone; another one, on the same database, takes the decision and finishes the run.
    second = runs_server()
    with second.client(people[ALICE].key) as client:
        paused = get_run(client, run["id"])
        assert paused["status"] == RunStatus.REQUIRES_ACTION
        assert paused["pending_approvals"] == run["pending_approvals"]
        response = decide(client, run["id"], run["pending_approvals"][0]["tool_call_id"], True)
        assert response.status_code == 200, response.text
        done = wait_for_status(client, run["id"])
        assert (done["status"], done["output"]) == (RunStatus.SUCCEEDED, "refund result: refunded 77")
    assert refund_lines(effects_log) == [f"refund 77 run={run['id']}"]


def test_chat_shows_the_pending_approval(users: Users, effects_log: Path) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        response = client.post("/v1/chat", json={"agent": "refunder", "message": "amount=7"})
        assert response.status_code == 200, response.text
        reply = response.json()
        assert reply["status"] == RunStatus.REQUIRES_ACTION, reply
        [pending] = reply["pending_approvals"]
        assert (pending["tool_name"], pending["args"]) == ("refund", {"amount": 7})
        assert pending["tool_call_id"] in reply["reply"]
        run = get_run(client, reply["run_id"])
        assert (run["status"], run["thread_id"]) == (RunStatus.REQUIRES_ACTION, reply["thread_id"])
        assert run["pending_approvals"] == [pending]
        assert refund_lines(effects_log) == []

        assert decide(client, reply["run_id"], pending["tool_call_id"], True).status_code == 200
        assert wait_for_status(client, reply["run_id"])["output"] == "refund result: refunded 7"
