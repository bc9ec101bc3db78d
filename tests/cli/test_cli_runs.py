"""`switchboard runs …` as a user runs it: the real command in a subprocess against a live server with the demo
users, the support agent on the offline model."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from tests.cli.helpers import DroppingProxy, start_run, switchboard, wait_for
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.server import LiveServer

USER = "test.user@example.com"  # owns order 1, pending
BOB = "bob@example.com"  # owns order 3, shipped
ALICE = "alice@example.com"


def test_list_show_and_follow_a_finished_run(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    key = demo[USER].key
    with server.client(key) as client:
        run_id = start_run(client, "What is the status of order 1?")
        run = wait_for(client, run_id)
    assert run["status"] == "succeeded"

    listed = switchboard(server, key, "runs", "list")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == ["ID", "AGENT", "STATUS", "CREATED", "SECONDS", "TOKENS", "COST"]
    assert row.split()[:3] == [run_id, "support", "succeeded"]
    assert row.split()[-1] == "-"  # the offline model has no price: unknown, not $0

    as_json = switchboard(server, key, "runs", "list", "--json", "--agent", "support")
    assert [r["id"] for r in json.loads(as_json.stdout)] == [run_id]
    none_failed = switchboard(server, key, "runs", "list", "--status", "failed")
    assert none_failed.stdout.splitlines() == ["ID  AGENT  STATUS  CREATED  SECONDS  TOKENS  COST"]

    shown = switchboard(server, key, "runs", "show", run_id)
    assert shown.returncode == 0, shown.stderr
    assert f"run       {run_id}" in shown.stdout
    assert "agent     support (model offline)" in shown.stdout
    assert "input     What is the status of order 1?" in shown.stdout
    assert "Order #1" in shown.stdout
    assert "pending" in shown.stdout
    timeline = shown.stdout.split("timeline:\n")[1].splitlines()
    assert [line.split()[1] for line in timeline] == ["model", "tool", "model"]
    assert 'get_order({"order_id": 1})' in timeline[1]
    assert "succeeded" in timeline[1]

    shown_json = json.loads(switchboard(server, key, "runs", "show", run_id, "--json").stdout)
    assert shown_json["id"] == run_id
    assert shown_json["output"] == run["output"]
    assert [step["kind"] for step in shown_json["steps"]] == ["model_request", "tool_call", "model_request"]

    followed = switchboard(server, key, "runs", "follow", run_id)
    assert followed.returncode == 0, followed.stderr
    assert followed.stdout.strip() == run["output"]  # the streamed text, replayed from the first event
    assert '[tool get_order({"order_id": 1})]' in followed.stderr
    assert "[result get_order:" in followed.stderr
    last = followed.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"\[progress\] steps 3 · tokens \d+ · \d+\.\ds · succeeded", last), followed.stderr


def test_follow_resumes_after_a_dropped_connection_without_repeating(
    server: LiveServer, demo: dict[str, DemoUser]
) -> None:
    key = demo[USER].key
    with server.client(key) as client:
        run = wait_for(client, start_run(client, "What is the status of order 1?"))
    proxy = DroppingProxy(server.url, keep=4)
    try:
        followed = switchboard(server, key, "runs", "follow", run["id"], url=proxy.url)
    finally:
        proxy.close()
    assert followed.returncode == 0, followed.stderr
    resumed = re.search(r"\[connection lost \(RemoteProtocolError\); resuming after event (\d+)\]", followed.stderr)
    assert resumed is not None, followed.stderr
    assert int(resumed.group(1)) >= 3  # the events before the cut were read
    events = [request for request in proxy.requests if "/events" in request]
    assert len(events) == 2
    assert f"last-event-id: {resumed.group(1)}\r\n" in events[1].lower()
    assert followed.stdout.strip() == run["output"]  # every delta once: none lost, none repeated


def test_cancel_a_queued_run_and_follow_reports_it_failed(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(workers=0)  # no worker: runs stay queued
    key = seed_demo(server.settings)[USER].key
    with server.client(key) as client:
        run_id = start_run(client, "Show me all my orders")

    cancelled = switchboard(server, key, "runs", "cancel", run_id)
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.strip() == f"run {run_id}: cancelled"

    followed = switchboard(server, key, "runs", "follow", run_id)
    assert followed.returncode == 1
    assert "error: the run ended cancelled" in followed.stderr

    again = switchboard(server, key, "runs", "cancel", run_id)
    assert again.returncode == 1
    assert again.stderr.startswith("error: 409 ")


def test_approve_a_pending_refund_then_follow_it_to_the_end(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    key = demo[BOB].key
    with server.client(key) as client:
        run_id = start_run(client, "Please refund order 3")
        wait_for(client, run_id, ("requires_action",))

    shown = switchboard(server, key, "runs", "show", run_id)
    assert "status    requires_action" in shown.stdout
    pending = shown.stdout.split("waiting for approval")[1].splitlines()[1].split()
    call_id = pending[0]
    assert pending[1:] == ['refund_order({"order_id":', "3})"]

    wrong = switchboard(server, key, "runs", "approve", run_id, "--call", "no-such-call")
    assert wrong.returncode == 1
    assert f"has no pending call no-such-call; waiting:\n  {call_id}  refund_order" in wrong.stderr

    approved = switchboard(server, key, "runs", "approve", run_id)  # the only pending call
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.splitlines() == [
        f'approved refund_order({{"order_id": 3}}) ({call_id})',
        f"run {run_id}: queued",
    ]
    followed = switchboard(server, key, "runs", "follow", run_id)
    assert followed.returncode == 0, followed.stderr
    assert "Order #3 has been refunded" in followed.stdout
    with server.client(key) as client:
        assert {o["id"]: o["status"] for o in client.get("/demo/orders").json()}[3] == "refunded"

    twice = switchboard(server, key, "runs", "approve", run_id)
    assert twice.returncode == 1
    assert "has no tool call waiting for approval (it is succeeded)" in twice.stderr


def test_deny_a_pending_refund_with_a_reason(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    key = demo[BOB].key
    with server.client(key) as client:
        run_id = start_run(client, "Please refund order 3")
        wait_for(client, run_id, ("requires_action",))

    denied = switchboard(server, key, "runs", "deny", run_id, "--reason", "the parcel is still in transit")
    assert denied.returncode == 0, denied.stderr
    assert denied.stdout.startswith('denied refund_order({"order_id": 3})')
    with server.client(key) as client:
        run = wait_for(client, run_id)
        assert {o["id"]: o["status"] for o in client.get("/demo/orders").json()}[3] == "shipped"
    assert run["output"] == "The refund was not made. The user denied this tool call: the parcel is still in transit"
    shown = switchboard(server, key, "runs", "show", run_id)
    assert "denied (denied: the parcel is still in transit)" in shown.stdout


def test_another_users_run_is_not_found(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[BOB].key) as client:
        run_id = start_run(client, "Please refund order 3")
        wait_for(client, run_id, ("requires_action",))
    for command in (["show"], ["follow"], ["cancel"], ["approve"], ["deny"]):
        result = switchboard(server, demo[ALICE].key, "runs", *command, run_id)
        assert result.returncode == 1, command
        assert result.stderr.startswith("error: 404 not_found: "), (command, result.stderr)
    with server.client(demo[BOB].key) as client:
        assert client.get(f"/v1/runs/{run_id}").json()["status"] == "requires_action"


def test_show_a_pipelines_child_runs_as_a_tree(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    key = demo[ALICE].key
    text = "Apple Inc. reported record profits on Monday. CEO Tim Cook was very happy with the results in Berlin."
    with server.client(key) as client:
        accepted = client.post("/api/v1/process", json={"text": text, "orchestration_mode": "sequential"})
        assert accepted.status_code == 202, accepted.text
        run = wait_for(client, accepted.json()["request_id"])
    assert run["status"] == "succeeded"

    shown = switchboard(server, key, "runs", "show", run["id"])
    assert shown.returncode == 0, shown.stderr
    tree = shown.stdout.split("child runs:\n")[1].splitlines()
    assert [line.split()[:4] for line in tree] == [
        ["├─", "summarizer:", "summarizer", "succeeded"],
        ["├─", "sentiment:", "sentiment", "succeeded"],
        ["└─", "entity_extractor:", "entities", "succeeded"],
    ]
    children = json.loads(switchboard(server, key, "runs", "show", run["id"], "--json").stdout)["children"]
    assert [line.split()[4] for line in tree] == [child["id"] for child in children]
