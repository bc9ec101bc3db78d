"""The runs API over real HTTP: create (background and wait), read, list with filters and cursors, per-user
isolation, input errors, the steps timeline, per-run limits, and cancellation (queued, finished, mid-stream)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from switchboard.models.runs import RunStatus, StepStatus
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.http import assert_error, create_run, get_run, open_events, read_events, read_until, wait_for_status
from tests.fixtures.server import LiveServer

ALICE = "alice@example.com"
BOB = "bob@example.com"
RUN_KEYS = {
    "id",
    "thread_id",
    "agent",
    "status",
    "message",
    "output",
    "error",
    "pending_approvals",
    "cost_usd",
    "notify",
    "schedule_id",
    "scheduled_for",
    "trigger_id",
    "parent_id",
    "step",
    "children",
    "usage",
    "model",
    "multitask_strategy",
    "metadata",
    "limits",
    "attempts",
    "worker",
    "last_event_id",
    "request_id",
    "created_at",
    "started_at",
    "finished_at",
}
Users = tuple[LiveServer, dict[str, DemoUser]]


def slow_text(words: int) -> str:
    return " ".join(f"w{i}" for i in range(1, words + 1))


def assert_partial(output: object, full: str) -> None:
    """`output` is what a stopped run had produced: a non-empty proper prefix of the full text."""
    assert isinstance(output, str), output
    assert output, "no partial output kept"
    assert full.startswith(output), output
    assert output != full, "the run was not stopped before the end"


def list_ids(client: httpx.Client, **params: Any) -> list[str]:
    response = client.get("/v1/runs", params=params)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next_cursor"] is None, page
    return [run["id"] for run in page["items"]]


def thread_messages(client: httpx.Client, thread_id: str) -> list[tuple[str, str | None]]:
    response = client.get(f"/v1/threads/{thread_id}/messages")
    assert response.status_code == 200, response.text
    return [(m["role"], m["text"]) for m in response.json()["items"]]


def test_create_queues_a_run_on_a_new_thread_and_it_succeeds(users: Users) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        response = client.post("/v1/runs", json={"agent": "echo", "message": "hello there", "metadata": {"ref": 7}})
        assert response.status_code == 202, response.text
        run = response.json()
        assert set(run) == RUN_KEYS
        assert response.headers["location"] == f"/v1/runs/{run['id']}"
        # The answer is built in the transaction that queues the run: nothing can have claimed it yet.
        assert run["status"] == RunStatus.QUEUED
        assert (run["agent"], run["message"], run["metadata"]) == ("echo", "hello there", {"ref": 7})
        assert (run["output"], run["error"], run["pending_approvals"]) == (None, None, [])
        assert (run["attempts"], run["last_event_id"], run["finished_at"]) == (0, 1, None)
        assert run["multitask_strategy"] == "enqueue"
        assert run["request_id"] == response.headers["x-request-id"]

        thread = client.get(f"/v1/threads/{run['thread_id']}")
        assert thread.status_code == 200, thread.text
        assert thread.json()["agent"] == "echo"

        done = wait_for_status(client, run["id"])
        assert done["status"] == RunStatus.SUCCEEDED, done
        assert done["output"] == "echo: hello there"
        assert (done["id"], done["thread_id"]) == (run["id"], run["thread_id"])
        assert done["attempts"] == 1
        assert done["usage"]["requests"] == 1
        assert done["started_at"] is not None
        assert done["finished_at"] is not None
        assert done["last_event_id"] > run["last_event_id"]


def test_a_run_on_an_existing_thread_continues_it(users: Users) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        first = create_run(client, "echo", "first words")
        second = create_run(client, "echo", "second words", thread_id=first["thread_id"])
        assert second["thread_id"] == first["thread_id"]
        # Runs on one thread execute one at a time, in order: when the second has finished, so has the first.
        assert wait_for_status(client, second["id"])["output"] == "echo: second words"
        assert get_run(client, first["id"])["status"] == RunStatus.SUCCEEDED
        assert thread_messages(client, first["thread_id"]) == [
            ("user", "first words"),
            ("assistant", "echo: first words"),
            ("user", "second words"),
            ("assistant", "echo: second words"),
        ]
        threads = client.get("/v1/threads").json()["items"]
        assert [t["id"] for t in threads] == [first["thread_id"]]


def test_wait_returns_the_finished_run(users: Users) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        response = client.post("/v1/runs/wait", json={"agent": "echo", "message": "are you there"})
        assert response.status_code == 200, response.text
        run = response.json()
        assert set(run) == RUN_KEYS
        assert response.headers["location"] == f"/v1/runs/{run['id']}"
        assert (run["status"], run["output"], run["error"]) == (RunStatus.SUCCEEDED, "echo: are you there", None)
        assert run["finished_at"] is not None
        # GET says the same, and also reads the tree of child runs (none here), which the wait does not.
        again = get_run(client, run["id"])
        assert (again.pop("children"), run.pop("children")) == ([], None)
        assert again == run


def test_wait_answers_with_the_unfinished_run_when_its_wait_runs_out(runs_server: Callable[..., LiveServer]) -> None:
    server = runs_server(run_wait_seconds=0.3)
    people = seed_demo(server.settings)
    with server.client(people[ALICE].key) as client:
        response = client.post("/v1/runs/wait", json={"agent": "slow", "message": "words=16 delay=0.05"})
        assert response.status_code == 200, response.text
        run = response.json()  # the run needs 0.75 s of model time: the wait ran out first
        assert run["status"] in (RunStatus.QUEUED, RunStatus.RUNNING), run
        assert run["finished_at"] is None
        assert response.headers["location"] == f"/v1/runs/{run['id']}"
        assert wait_for_status(client, run["id"])["output"] == slow_text(16)


def test_list_filters_and_cursor_walk(users: Users, effects: Callable[[], dict[str, int]]) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client, server.client(people[BOB].key) as bob:
        r1 = create_run(client, "echo", "one")
        r2 = create_run(client, "echo", "two")
        r3 = create_run(client, "echo", "three", thread_id=r2["thread_id"])
        r4 = create_run(client, "counter", "apples", limits={"max_tool_calls": 0})  # fails: no tool call allowed
        bobs = create_run(bob, "echo", "bob's")
        for run in (r1, r2, r3, r4, bobs):
            wait_for_status(bob if run is bobs else client, run["id"])
        everything = [r4["id"], r3["id"], r2["id"], r1["id"]]  # newest first

        assert list_ids(client) == everything
        assert list_ids(client, thread_id=r2["thread_id"]) == [r3["id"], r2["id"]]
        assert list_ids(client, agent="echo") == [r3["id"], r2["id"], r1["id"]]
        assert list_ids(client, agent="counter") == [r4["id"]]
        assert list_ids(client, agent="refunder") == []
        assert list_ids(client, status=RunStatus.FAILED) == [r4["id"]]
        assert list_ids(client, status=RunStatus.SUCCEEDED) == [r3["id"], r2["id"], r1["id"]]
        assert list_ids(client, status=RunStatus.SUCCEEDED, thread_id=r1["thread_id"]) == [r1["id"]]
        assert list_ids(client, status=RunStatus.QUEUED) == []
        assert list_ids(bob) == [bobs["id"]]

        walked: list[str] = []
        cursor: str | None = None
        for _ in range(10):
            params: dict[str, Any] = {"limit": 1}
            if cursor is not None:
                params["cursor"] = cursor
            page = client.get("/v1/runs", params=params).json()
            assert len(page["items"]) == 1, page
            walked.append(page["items"][0]["id"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert walked == everything

        first = client.get("/v1/runs", params={"limit": 2, "agent": "echo"}).json()
        assert [r["id"] for r in first["items"]] == [r3["id"], r2["id"]]
        rest = client.get("/v1/runs", params={"limit": 2, "agent": "echo", "cursor": first["next_cursor"]}).json()
        assert ([r["id"] for r in rest["items"]], rest["next_cursor"]) == ([r1["id"]], None)


def test_another_users_run_is_not_found(users: Users) -> None:
    server, people = users
    with server.client(people[ALICE].key) as alice, server.client(people[BOB].key) as bob:
        run = wait_for_status(alice, create_run(alice, "echo", "private")["id"])
        rid = run["id"]
        assert_error(bob.get(f"/v1/runs/{rid}"), 404, "not_found")
        assert_error(bob.post(f"/v1/runs/{rid}/cancel"), 404, "not_found")
        assert_error(bob.get(f"/v1/runs/{rid}/steps"), 404, "not_found")
        assert_error(bob.get(f"/v1/runs/{rid}/events"), 404, "not_found")
        decision = {"tool_call_id": "anything", "approve": True}
        assert_error(bob.post(f"/v1/runs/{rid}/approvals", json=decision), 404, "not_found")
        assert_error(
            bob.post("/v1/runs", json={"agent": "echo", "message": "x", "thread_id": run["thread_id"]}),
            404,
            "not_found",
        )
        assert list_ids(bob) == []
        assert get_run(alice, rid) == run  # untouched


def test_bad_input_is_422_and_creates_nothing(users: Users) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        bad_bodies: list[tuple[dict[str, Any], str]] = [
            ({"agent": "no-such-agent", "message": "hi"}, "agent"),
            ({"agent": "echo", "message": ""}, "message"),
            ({"agent": "echo"}, "message"),
            ({"agent": "echo", "message": "hi", "thread_id": "not-a-uuid"}, "thread_id"),
            ({"agent": "echo", "message": "hi", "multitask_strategy": "shout"}, "multitask_strategy"),
            ({"agent": "echo", "message": "hi", "limits": {"max_model_requests": 0}}, "limits.max_model_requests"),
            ({"agent": "echo", "message": "hi", "limits": {"max_tool_calls": -1}}, "limits.max_tool_calls"),
            ({"agent": "echo", "message": "hi", "limits": {"timeout_seconds": 0}}, "limits.timeout_seconds"),
        ]
        for body, field in bad_bodies:
            for path in ("/v1/runs", "/v1/runs/wait"):
                error = assert_error(client.post(path, json=body), 422, "validation_error")
                assert field in [d["field"] for d in error["details"]], (body, error)

        oversize = {"agent": "echo", "message": "x" * (server.settings.max_prompt_chars + 1)}
        error = assert_error(client.post("/v1/runs", json=oversize), 413, "payload_too_large")
        assert str(server.settings.max_prompt_chars) in error["message"]

        for params in ({"limit": 0}, {"limit": 101}, {"status": "sleeping"}, {"thread_id": "x"}, {"cursor": "%%%"}):
            assert_error(client.get("/v1/runs", params=params), 422, "validation_error")
        assert_error(client.get("/v1/runs/not-a-uuid"), 422, "validation_error")

        assert list_ids(client) == []
        assert client.get("/v1/threads").json()["items"] == []


def test_steps_timeline_of_a_tool_calling_run(users: Users, effects: Callable[[], dict[str, int]]) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        run = wait_for_status(client, create_run(client, "counter", "pears")["id"])
        assert (run["status"], run["output"]) == (RunStatus.SUCCEEDED, "bumped pears to 1")
        assert run["usage"]["requests"] == 2
        assert run["usage"]["tool_calls"] == 1
        response = client.get(f"/v1/runs/{run['id']}/steps")
        assert response.status_code == 200, response.text
        steps = response.json()
    assert [s["kind"] for s in steps] == ["model_request", "tool_call", "model_request"]
    first, tool, second = steps
    assert tool["tool_name"] == "bump"
    assert tool["args"] == {"key": "pears"}
    assert tool["result"] == "pears to 1"
    assert tool["tool_call_id"]
    assert tool["approved"] is None
    for step in steps:
        assert step["status"] == StepStatus.SUCCEEDED, step
        assert step["attempt"] == 1
        assert step["finished_at"] is not None
        assert step["duration_ms"] is not None, step
        assert step["duration_ms"] >= 0, step
    for request in (first, second):
        assert request["model"] == "counter"
        assert set(request["usage"]) >= {"input_tokens", "output_tokens"}, request
        assert request["tool_name"] is None
    # In time order: the model asked for the tool, the tool ran, then the model answered.
    assert first["finished_at"] <= tool["started_at"] <= tool["finished_at"] <= second["started_at"]
    assert effects() == {"pears": 1}


def test_max_tool_calls_zero_fails_before_the_tool_runs(users: Users, effects: Callable[[], dict[str, int]]) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        created = create_run(client, "counter", "plums", limits={"max_tool_calls": 0})
        assert created["limits"] == {
            "max_model_requests": None,
            "max_tool_calls": 0,
            "timeout_seconds": None,
            "max_cost_usd": None,
        }
        run = wait_for_status(client, created["id"])
        assert run["status"] == RunStatus.FAILED, run
        assert run["error"]["type"] == "usage_limit_exceeded"
        assert "tool_calls_limit" in run["error"]["message"]
        assert run["output"] is None
        end = read_events(client, run["id"])[-1]
        assert (end.type, end.data["status"], end.data["error"]) == ("end", RunStatus.FAILED, run["error"])
    assert effects() == {}  # the tool never ran


def test_timeout_ends_timed_out_keeping_partial_output(users: Users) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        created = create_run(client, "slow", "words=40 delay=0.05", limits={"timeout_seconds": 0.8})
        run = wait_for_status(client, created["id"])
        assert run["status"] == RunStatus.TIMED_OUT, run
        assert run["error"]["type"] == RunStatus.TIMED_OUT
        assert "0.8" in run["error"]["message"]
        assert_partial(run["output"], slow_text(40))
        end = read_events(client, run["id"])[-1]
        assert (end.type, end.data["status"], end.data["output"]) == ("end", RunStatus.TIMED_OUT, run["output"])


def test_cancel_a_queued_run(runs_server: Callable[..., LiveServer]) -> None:
    server = runs_server(workers=0)  # nothing executes: the run stays queued
    people = seed_demo(server.settings)
    with server.client(people[ALICE].key) as client:
        run = create_run(client, "slow", "words=3")
        assert get_run(client, run["id"])["status"] == RunStatus.QUEUED
        response = client.post(f"/v1/runs/{run['id']}/cancel")
        assert response.status_code == 200, response.text
        cancelled = response.json()
        assert cancelled["status"] == RunStatus.CANCELLED
        assert cancelled["finished_at"] is not None
        assert (cancelled["output"], cancelled["attempts"]) == (None, 0)
        events = read_events(client, run["id"])  # ends: the stream closes after `end`
        assert [e.id for e in events] == list(range(1, len(events) + 1))
        assert events[-1].type == "end"
        assert events[-1].data["status"] == RunStatus.CANCELLED
        assert get_run(client, run["id"]) == {**cancelled, "children": []}  # GET also reads the (empty) tree
        error = assert_error(client.post(f"/v1/runs/{run['id']}/cancel"), 409, "conflict")
        assert "already finished" in error["message"]


def test_cancel_a_finished_run_is_409(users: Users) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        run = wait_for_status(client, create_run(client, "echo", "done soon")["id"])
        assert run["status"] == RunStatus.SUCCEEDED
        error = assert_error(client.post(f"/v1/runs/{run['id']}/cancel"), 409, "conflict")
        assert "already finished" in error["message"]
        assert get_run(client, run["id"]) == run


def test_cancel_mid_stream_keeps_the_partial_output(users: Users) -> None:
    server, people = users
    full = slow_text(60)
    with server.client(people[ALICE].key) as client:
        run = create_run(client, "slow", "words=60 delay=0.05")
        with open_events(client, run["id"]) as stream:
            seen = read_until(stream, "text_delta")
            response = client.post(f"/v1/runs/{run['id']}/cancel")
            assert response.status_code == 200, response.text
            assert response.json()["status"] in (RunStatus.RUNNING, RunStatus.CANCELLED)
            seen += list(stream)
        assert [e.id for e in seen] == list(range(1, len(seen) + 1))
        assert seen[-1].type == "end"
        assert seen[-1].data["status"] == RunStatus.CANCELLED
        assert "cancel_requested" in [e.type for e in seen]
        done = get_run(client, run["id"])
        assert done["status"] == RunStatus.CANCELLED
        output = done["output"]
        assert_partial(output, full)
        assert seen[-1].data["output"] == output
        # Every delta produced before the cancel was delivered, and they add up to the kept output.
        assert "".join(e.data["delta"] for e in seen if e.type == "text_delta") == output
