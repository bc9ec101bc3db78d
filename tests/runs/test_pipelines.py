"""Pipelines over real HTTP and PostgreSQL: stages of child runs that run at once on a worker, a join over their
outputs, a failing step (required or optional), cancelling mid-pipeline, the parent's events and tree."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.engine.delegation import MAX_DEPTH
from switchboard.models.runs import FINAL, RunStatus
from tests.fixtures.database import run_db
from tests.fixtures.demo import seed_demo
from tests.fixtures.http import create_run, get_run, read_events, wait_for_status
from tests.fixtures.processes import LEASE_SECONDS, Processes
from tests.fixtures.server import LiveServer
from tests.runs.test_crash_recovery import effect_lines

ALICE = "alice@example.com"


def _client(runs_server: Callable[..., LiveServer], **settings: Any) -> tuple[LiveServer, httpx.Client]:
    server = runs_server(**settings)
    people = seed_demo(server.settings)
    return server, server.client(people[ALICE].key)


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_a_parallel_stage_runs_its_steps_at_once_and_the_parent_waits_holding_no_worker(
    runs_server: Callable[..., LiveServer],
) -> None:
    # Three slots: the three steps; the pipeline's own run holds none while they work.
    server, client = _client(runs_server, worker_concurrency=3)
    run = create_run(client, "trio", "words=6 delay=0.25")
    assert run["model"] is None  # a pipeline has no model of its own
    done = wait_for_status(client, run["id"], *FINAL, timeout=30)
    assert done["status"] == RunStatus.SUCCEEDED, done
    words = " ".join(f"w{i}" for i in range(1, 7))
    assert done["output"] == {"a": words, "b": words, "c": words}

    children = done["children"]
    assert [(c["step"], c["agent"], c["status"]) for c in children] == [
        (name, "slow", RunStatus.SUCCEEDED) for name in ("a", "b", "c")
    ]
    # At once: each started before any finished; so the pipeline took about the slowest step, not the sum.
    starts = [_time(c["started_at"]) for c in children]
    ends = [_time(c["finished_at"]) for c in children]
    assert max(starts) < min(ends), (starts, ends)
    slowest = max(c["seconds"] for c in children)
    total = (_time(done["finished_at"]) - _time(done["started_at"])).total_seconds()
    assert total < sum(c["seconds"] for c in children), (total, [c["seconds"] for c in children])
    assert slowest >= 1.25  # five pauses of 0.25 s each
    # The pipeline's usage is its steps' usage added up.
    assert done["usage"]["requests"] == sum(c["usage"]["requests"] for c in children) == 3

    # Children are ordinary runs of the same user, listed under their parent.
    listed = client.get(f"/v1/runs/{run['id']}/children").json()["items"]
    assert {c["id"] for c in listed} == {c["id"] for c in children}
    assert {c["parent_id"] for c in listed} == {run["id"]}
    one = get_run(client, children[0]["id"])
    assert (one["parent_id"], one["step"], one["children"]) == (run["id"], "a", [])

    # The parent's events tell the story: its steps started, it waited, each finished, it went on and ended.
    events = read_events(client, run["id"])
    story = [(e.type, e.data.get("status"), e.data.get("step")) for e in events]
    started = [s for s in story if s[0] == "child" and s[1] == "queued"]
    finished = [s for s in story if s[0] == "child" and s[1] == "succeeded"]
    assert sorted(str(step) for *_, step in started) == sorted(str(step) for *_, step in finished) == ["a", "b", "c"]
    assert ("status", RunStatus.WAITING, None) in story
    assert story.index(("status", RunStatus.WAITING, None)) < story.index(finished[0])
    assert story[-2:] == [("status", RunStatus.SUCCEEDED, None), ("end", RunStatus.SUCCEEDED, None)]
    # Claimed twice (start the stage; join), each claim a short one: the waiting claim is not counted as an attempt.
    assert done["attempts"] == 1

    # The steps' threads are the runs' own and stay out of the user's thread list.
    threads = {t["id"] for t in client.get("/v1/threads", params={"limit": 100}).json()["items"]}
    assert run["thread_id"] in threads
    child_threads = {get_run(client, c["id"])["thread_id"] for c in children}
    assert len(child_threads) == 3
    assert not child_threads & threads
    assert server.url


def test_a_mixed_pipeline_joins_a_parallel_stage_in_a_step_over_its_outputs(
    runs_server: Callable[..., LiveServer],
) -> None:
    _, client = _client(runs_server)
    run = create_run(client, "mixed", "hello there")
    done = wait_for_status(client, run["id"], *FINAL, timeout=30)
    assert done["status"] == RunStatus.SUCCEEDED, done
    assert done["output"] == {
        "joined": "echo: echo: hello there + echo: HELLO THERE",
        "steps": ["first", "join", "second"],
    }
    by_step = {c["step"]: c for c in done["children"]}
    # The second stage started only once the first had finished.
    assert _time(by_step["join"]["created_at"]) >= max(_time(by_step[s]["finished_at"]) for s in ("first", "second"))


def test_a_failing_step_fails_the_pipeline_saying_which_and_why_unless_it_is_optional(
    runs_server: Callable[..., LiveServer],
) -> None:
    _, client = _client(runs_server)
    fragile = create_run(client, "fragile", "try this")
    tolerant = create_run(client, "tolerant", "try this")
    failed = wait_for_status(client, fragile["id"], *FINAL, timeout=30)
    assert failed["status"] == RunStatus.FAILED
    error = failed["error"]
    assert error["type"] == "step_failed"
    assert error["step"] == "bad"
    bad = next(c for c in failed["children"] if c["step"] == "bad")
    assert error["run_id"] == bad["id"]
    assert "Step 'bad' (agent failer" in error["message"]
    assert bad["status"] == RunStatus.FAILED

    survived = wait_for_status(client, tolerant["id"], *FINAL, timeout=30)
    assert survived["status"] == RunStatus.SUCCEEDED, survived
    assert survived["output"] == {"ok": "echo: try this"}  # the optional step's output is left out


def test_cancelling_a_pipeline_cancels_its_steps(runs_server: Callable[..., LiveServer]) -> None:
    server, client = _client(runs_server, worker_concurrency=3)
    run = create_run(client, "trio", "words=200 delay=0.1")

    def steps_running() -> list[dict[str, Any]]:
        children = get_run(client, run["id"])["children"]
        return children if len(children) == 3 and all(c["status"] == RunStatus.RUNNING for c in children) else []

    deadline_children: list[dict[str, Any]] = []
    for _ in range(200):
        deadline_children = steps_running()
        if deadline_children:
            break
        time.sleep(0.05)
    assert deadline_children, get_run(client, run["id"])
    assert get_run(client, run["id"])["status"] == RunStatus.WAITING

    response = client.post(f"/v1/runs/{run['id']}/cancel")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == RunStatus.CANCELLED  # it held no worker: cancelled at once
    for child in deadline_children:
        assert wait_for_status(client, child["id"], *FINAL, timeout=15)["status"] == RunStatus.CANCELLED
    # The children stopped mid-stream, so their partial output is kept; the parent heard of none after its end.
    events = read_events(client, run["id"])
    assert events[-1].type == "end"
    assert events[-1].data["status"] == RunStatus.CANCELLED

    async def waiting_left(session: AsyncSession) -> int:
        return int(await session.scalar(text("SELECT count(*) FROM runs WHERE status NOT IN ('cancelled')")) or 0)

    assert run_db(server.database_url, waiting_left) == 0


def test_an_agent_calls_two_agents_as_tools_at_once_and_waits_for_their_runs_holding_no_worker(
    runs_server: Callable[..., LiveServer], effects: Callable[[], dict[str, int]]
) -> None:
    # One slot: the manager's children can run only because the manager gives its slot up while it waits.
    _, client = _client(runs_server, worker_concurrency=2)
    run = create_run(client, "manager", "job1")
    done = wait_for_status(client, run["id"], *FINAL, timeout=30)
    assert done["status"] == RunStatus.SUCCEEDED, done
    assert done["output"] == "ask_counter: bumped job1 to 1 and that is all for now | ask_echo: echo: please job1"
    assert effects() == {"job1": 1}

    children = {c["step"]: c for c in done["children"]}
    assert set(children) == {"call-echo", "call-counter"}
    assert (children["call-echo"]["agent"], children["call-counter"]["agent"]) == ("echo", "counter")
    # The children's model requests count as the manager's (its own two, echo's one, counter's two).
    assert done["usage"]["requests"] == 2 + 1 + 2

    # Each call is in the manager's ledger once, answered from its child run.
    steps = [s for s in client.get(f"/v1/runs/{run['id']}/steps").json() if s["kind"] == "tool_call"]
    assert sorted((s["tool_name"], s["status"], s["result"]) for s in steps) == [
        ("ask_counter", "succeeded", children["call-counter"]["output"]),
        ("ask_echo", "succeeded", "echo: please job1"),
    ]
    events = read_events(client, run["id"])
    types = [e.type for e in events]
    assert "waiting_for_children" in types
    # Asked in one response, both were started before the manager waited, once (one by one, it would wait twice).
    assert [e.data["status"] for e in events if e.type == "status"].count(RunStatus.WAITING) == 1
    waiting = next(e for e in events if e.type == "waiting_for_children")
    assert sorted(c["tool_call_id"] for c in waiting.data["calls"]) == ["call-counter", "call-echo"]


def test_a_worker_killed_mid_parallel_pipeline_loses_nothing_and_repeats_no_tool_call(
    api: tuple[LiveServer, httpx.Client], procs: Processes, effects: Callable[[], dict[str, int]], effects_log: Path
) -> None:
    """Worker A dies (SIGKILL) while the three steps of `bumps` have each made their tool call and are streaming
    their answers slowly; worker B carries the steps and the pipeline on."""
    _, client = api
    run = create_run(client, "bumps", "crash")
    keys = ["crash-a", "crash-b", "crash-c"]
    first = procs.worker(name="worker-a", worker_lease_seconds=LEASE_SECONDS, worker_concurrency=4)

    def in_the_window() -> bool:
        children = get_run(client, run["id"])["children"]
        return (
            len(children) == 3
            and all(c["status"] == RunStatus.RUNNING for c in children)
            and effects() == dict.fromkeys(keys, 1)
        )

    procs.wait_until(in_the_window, "worker A to run every step past its tool call", alive=(first,))
    assert get_run(client, run["id"])["status"] == RunStatus.WAITING
    assert first.kill() == -9

    second = procs.worker(name="worker-b", worker_lease_seconds=3, worker_concurrency=4)
    done = procs.wait_for_run(
        client, run["id"], lambda r: r["status"] in FINAL, "the pipeline to finish", alive=(second,)
    )
    assert done["status"] == RunStatus.SUCCEEDED, done
    assert done["output"] == {name: f"bumped crash-{name} to 1 and that is all for now" for name in "abc"}
    # Every step ran its tool once: the counters say 1 and the tool's own log has one line per key.
    assert effects() == dict.fromkeys(keys, 1)
    assert sorted(line.split()[1] for line in effect_lines(effects_log, "bump")) == keys
    children = get_run(client, run["id"])["children"]
    assert {c["status"] for c in children} == {RunStatus.SUCCEEDED}
    assert len(children) == 3  # no step was started twice
    for child in children:
        assert get_run(client, child["id"])["attempts"] == 2  # claimed by A, swept back, claimed by B


def test_an_agent_calling_itself_is_stopped_by_the_depth_limit(runs_server: Callable[..., LiveServer]) -> None:
    _, client = _client(runs_server, worker_concurrency=2)
    run = create_run(client, "looper", "go on")
    done = wait_for_status(client, run["id"], *FINAL, timeout=30)
    assert done["status"] == RunStatus.SUCCEEDED, done
    depth, node = 0, done
    while node["children"]:
        [node] = node["children"]
        depth += 1
    assert depth == MAX_DEPTH - 1  # the run and four levels of children; the deepest was refused its call
    assert done["output"].startswith("looper heard: " * MAX_DEPTH)
    assert "Not asked: agents may call agents 4 levels deep at most" in done["output"]


def test_a_pipeline_past_its_time_limit_times_out_with_its_steps(runs_server: Callable[..., LiveServer]) -> None:
    _, client = _client(runs_server, worker_concurrency=3)
    # 3 s: time for the steps to start even on a loaded machine (the steps' work would take 10 s).
    run = create_run(client, "trio", "words=100 delay=0.1", limits={"timeout_seconds": 3})
    done = wait_for_status(client, run["id"], *FINAL, timeout=30)
    assert done["status"] == RunStatus.TIMED_OUT, done
    assert done["error"]["type"] == "timed_out"
    # Each step had the pipeline's limits, so none ran on past it either.
    assert {c["status"] for c in done["children"]} == {RunStatus.TIMED_OUT}
    assert {get_run(client, c["id"])["limits"]["timeout_seconds"] for c in done["children"]} == {3.0}


def test_a_pipeline_interrupted_by_a_new_run_on_its_thread_has_its_steps_cancelled_by_the_sweeper(
    runs_server: Callable[..., LiveServer],
) -> None:
    # A short lease: the sweeper (every half lease) finds the orphaned steps within a second.
    _, client = _client(runs_server, worker_concurrency=4, worker_lease_seconds=2)
    run = create_run(client, "trio", "words=300 delay=0.1")
    wait_for_status(client, run["id"], RunStatus.WAITING, timeout=15)
    response = client.post(
        "/v1/runs",
        json={
            "agent": "trio",
            "message": "words=1 delay=0",
            "thread_id": run["thread_id"],
            "multitask_strategy": "interrupt",
        },
    )
    assert response.status_code == 202, response.text
    assert get_run(client, run["id"])["status"] == RunStatus.CANCELLED
    steps = get_run(client, run["id"])["children"]
    assert len(steps) == 3
    for step in steps:
        assert wait_for_status(client, step["id"], *FINAL, timeout=15)["status"] == RunStatus.CANCELLED
    assert wait_for_status(client, response.json()["id"], *FINAL, timeout=15)["status"] == RunStatus.SUCCEEDED


def test_a_step_s_thread_cannot_be_deleted_from_under_its_pipeline(runs_server: Callable[..., LiveServer]) -> None:
    _, client = _client(runs_server)
    run = create_run(client, "mixed", "hello")
    done = wait_for_status(client, run["id"], *FINAL, timeout=30)
    step_thread = get_run(client, done["children"][0]["id"])["thread_id"]
    response = client.delete(f"/v1/threads/{step_thread}")
    assert response.status_code == 409, response.text
    assert f"part of run {run['id']}" in response.json()["error"]["message"]
    assert client.delete(f"/v1/threads/{run['thread_id']}").status_code == 204  # the pipeline's own, with its steps
    assert client.get(f"/v1/runs/{done['children'][0]['id']}").status_code == 404
