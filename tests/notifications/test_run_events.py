"""Every event a run's `notify` webhook hears besides success: a pause for approval (with the pending tool call),
a cancel (written by the API process, delivered by a worker process's dispatcher), a failure and a timeout, each
with the run as GET shows it; and an output past 64 KiB, cut with a link to the whole run."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.fakes.webhook_sink import Received, WebhookSink
from tests.fixtures.demo import DemoUser
from tests.fixtures.http import create_run, get_run, wait_for_status
from tests.fixtures.server import LiveServer
from tests.notifications.conftest import FAST_RETRIES, run_deliveries

Start = Callable[..., tuple[LiveServer, dict[str, DemoUser]]]
ALICE = "alice@example.com"
BOB = "bob@example.com"
TEST_AGENTS = "tests.fixtures.agents:plugin"
MAX_OUTPUT_BYTES = 64 * 1024


def hook(sink: WebhookSink, path: str = "/hook") -> list[dict[str, Any]]:
    return [{"webhook": {"url": f"{sink.url}{path}"}}]


def event(got: Received) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(got.body)
    assert set(payload) == {"type", "timestamp", "data"}, payload
    return payload


def as_shown(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload's run as GET shows it: without what it adds (its `url`, whether it cut anything), and with the
    tree of child runs GET reads and a notification leaves out (none here)."""
    added = ("url", "output_truncated", "message_truncated")
    assert "children" not in payload["data"]
    return {**{k: v for k, v in payload["data"].items() if k not in added}, "children": []}


def test_a_pause_for_approval_then_the_outcome(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying()
    with server.client(users[BOB].key) as bob:
        body = {"agent": "support", "message": "Please refund order 3", "notify": hook(sink)}
        response = bob.post("/v1/chat", json=body)
        assert response.status_code == 200, response.text
        paused = response.json()
        [got] = sink.wait_for(1)
        payload = event(got)
        assert payload["type"] == "run.requires_action"
        assert payload["data"]["status"] == "requires_action"
        [pending] = payload["data"]["pending_approvals"]
        assert pending == paused["pending_approvals"][0]
        assert (pending["tool_name"], pending["args"]) == ("refund_order", {"order_id": 3})
        assert as_shown(payload) == get_run(bob, paused["run_id"])

        bob.post(
            f"/v1/runs/{paused['run_id']}/approvals", json={"tool_call_id": pending["tool_call_id"], "approve": True}
        )
        run = wait_for_status(bob, paused["run_id"], "succeeded")
        first, second = sink.wait_for(2)
        settled = event(second)
        assert settled["type"] == "run.succeeded"
        assert settled["data"]["pending_approvals"] == []
        assert settled["data"]["output"] == run["output"]
        assert second.headers["webhook-id"] != first.headers["webhook-id"]  # two events, two ids
        items = run_deliveries(bob, run["id"], 2, "succeeded")
    assert sorted(item["event_type"] for item in items) == ["run.requires_action", "run.succeeded"]


def test_a_cancelled_queued_run_is_delivered_by_a_worker_process(
    notifying: Start, make_server: Callable[..., LiveServer], sink: WebhookSink
) -> None:
    api, users = notifying(workers=0)  # no worker, so no dispatcher: the run stays queued
    with api.client(users[ALICE].key) as alice:
        run = create_run(alice, "support", "Show me all my orders", notify=hook(sink))
        assert run["status"] == "queued"
        cancelled = alice.post(f"/v1/runs/{run['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        [pending] = alice.get(f"/v1/runs/{run['id']}/deliveries").json()["items"]
        assert (pending["status"], pending["event_type"], pending["attempts"]) == ("pending", "run.cancelled", 0)
        # A worker process (same database, same secret key) sends what the API process wrote.
        make_server(allow_private_urls=True, webhook_retry_seconds=FAST_RETRIES, webhook_retry_jitter=0)
        [got] = sink.wait_for(1)
        payload = event(got)
        assert payload["type"] == "run.cancelled"
        assert payload["data"]["status"] == "cancelled"
        assert as_shown(payload) == get_run(alice, run["id"])
        run_deliveries(alice, run["id"], 1, "succeeded")


def test_a_failed_run(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying()
    with server.client(users[ALICE].key) as alice:
        # The demo agent needs two model requests (a tool call, then the answer): one is not enough.
        created = create_run(
            alice, "support", "Show me all my orders", limits={"max_model_requests": 1}, notify=hook(sink)
        )
        run = wait_for_status(alice, created["id"], "failed")
        [got] = sink.wait_for(1)
    payload = event(got)
    assert payload["type"] == "run.failed"
    assert payload["data"]["status"] == "failed"
    assert payload["data"]["error"]["type"] == "usage_limit_exceeded"
    assert payload["data"]["error"] == run["error"]
    assert as_shown(payload) == run


def test_a_timed_out_run(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying(plugins=[TEST_AGENTS])
    with server.client(users[ALICE].key) as alice:
        created = create_run(
            alice, "slow", "words=40 delay=0.1", limits={"timeout_seconds": 0.5}, notify=hook(sink, "/slow")
        )
        run = wait_for_status(alice, created["id"], "timed_out")
        [got] = sink.wait_for(1, "/slow")
    payload = event(got)
    assert payload["type"] == "run.timed_out"
    assert payload["data"]["error"]["type"] == "timed_out"
    assert as_shown(payload) == run


def test_an_output_past_64_kib_is_cut_with_a_link_to_the_run(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying(plugins=[TEST_AGENTS], max_prompt_chars=100_000)
    prompt = "€" * 30_000  # 90,000 bytes of UTF-8, echoed: the cut falls inside a character
    with server.client(users[ALICE].key) as alice:
        response = alice.post("/v1/runs/wait", json={"agent": "echo", "message": prompt, "notify": hook(sink)})
        assert response.status_code == 200, response.text
        run = response.json()
        assert run["output"] == f"echo: {prompt}"
        [got] = sink.wait_for(1)
        short = alice.post("/v1/runs/wait", json={"agent": "echo", "message": "hi", "notify": hook(sink)}).json()
        _, small = sink.wait_for(2)
    data = event(got)["data"]
    assert data["output_truncated"] is True
    assert len(data["output"].encode()) <= MAX_OUTPUT_BYTES
    assert len(data["output"].encode()) > MAX_OUTPUT_BYTES - 3  # cut at the limit, less the broken character
    assert run["output"].startswith(data["output"])
    assert data["url"].endswith(f"/v1/runs/{run['id']}")
    # The message (as large here) is cut the same way, so the whole body stays small.
    assert data["message_truncated"] is True
    assert prompt.startswith(data["message"])
    assert len(data["message"].encode()) <= MAX_OUTPUT_BYTES
    assert len(got.body) < 2 * MAX_OUTPUT_BYTES + 8 * 1024
    assert as_shown(event(got)) == {**run, "output": data["output"], "message": data["message"], "children": []}
    # A short output is whole, and says nothing of truncation.
    small_data = event(small)["data"]
    assert small_data["output"] == short["output"] == "echo: hi"
    assert "output_truncated" not in small_data
    assert "message_truncated" not in small_data


def test_an_output_of_exactly_64_kib_is_not_cut(notifying: Start, sink: WebhookSink) -> None:
    server, users = notifying(plugins=[TEST_AGENTS], max_prompt_chars=100_000)
    prompt = "x" * (MAX_OUTPUT_BYTES - len("echo: "))  # the output is 64 KiB exactly (its JSON, with quotes, more)
    with server.client(users[ALICE].key) as alice:
        response = alice.post("/v1/runs/wait", json={"agent": "echo", "message": prompt, "notify": hook(sink)})
        assert response.status_code == 200, response.text
        [got] = sink.wait_for(1)
    data = event(got)["data"]
    assert data["output"] == response.json()["output"]
    assert "output_truncated" not in data
