"""`switchboard worker` as an operator runs it: SIGTERM lets runs in flight finish within the grace period and
gives the others back to the queue (not counted as an attempt); `--drain` exits once the queue is empty.

The API server runs in the test process with no workers; the workers are `switchboard worker` subprocesses."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from switchboard.models.runs import FINAL, RunStatus
from tests.fixtures.http import Event, create_run, get_run, read_events
from tests.fixtures.processes import START_SECONDS, Processes
from tests.fixtures.server import LiveServer

ALICE = "alice@example.com"
GRACE_SECONDS = 2.0


def statuses(events: list[Event]) -> list[tuple[str, Any, Any]]:
    return [(e.data["status"], e.data.get("reason"), e.data.get("attempt")) for e in events if e.type == "status"]


def assert_contiguous(events: list[Event]) -> None:
    assert [e.id for e in events] == list(range(1, len(events) + 1)), [(e.id, e.type) for e in events]
    assert [e.type for e in events].count("end") == 1, [e.type for e in events]
    assert events[-1].type == "end", [e.type for e in events]


def test_sigterm_lets_a_short_run_finish_and_gives_a_long_one_back_to_the_queue(
    api: tuple[LiveServer, httpx.Client], procs: Processes, runs_server: Callable[..., LiveServer]
) -> None:
    _, client = api
    short = create_run(client, "slow", "words=4 delay=0.25")["id"]  # ~0.75 s: well within the grace
    long = create_run(client, "slow", "words=30 delay=0.1")["id"]  # at least 2.9 s of sleeps: well past it
    worker = procs.worker(name="worker", worker_grace_seconds=GRACE_SECONDS)

    def both_streaming() -> bool:
        runs = [get_run(client, short), get_run(client, long)]
        return all(r["status"] == RunStatus.RUNNING and r["last_event_id"] >= 3 for r in runs)

    procs.wait_until(both_streaming, "the worker to start both runs", alive=(worker,))
    signalled = time.monotonic()
    assert worker.signal(signal.SIGTERM, wait=GRACE_SECONDS + 15) == 0, worker.output()
    took = time.monotonic() - signalled
    assert took < GRACE_SECONDS + 10, took

    finished = get_run(client, short)
    assert finished["status"] == RunStatus.SUCCEEDED, finished
    assert finished["output"] == "w1 w2 w3 w4"
    assert finished["attempts"] == 1

    released = get_run(client, long)
    assert released["status"] == RunStatus.QUEUED, released
    assert released["attempts"] == 0  # a shutdown is not the run's fault: it does not use up an attempt
    assert released["output"] is None
    assert released["error"] is None
    assert worker.logged("worker.draining", runs=2, grace_seconds=GRACE_SECONDS)
    assert worker.logged("run.released", run_id=long, reason="worker_shutdown")
    assert worker.logged("worker.stopped")

    # Another worker (a server's embedded one) takes it from the queue and runs it to the end.
    runs_server(workers=1)
    run = procs.wait_for_run(client, long, lambda r: r["status"] in FINAL, "the run to finish", 20)
    assert run["status"] == RunStatus.SUCCEEDED, run
    assert run["output"] == " ".join(f"w{i}" for i in range(1, 31))
    assert run["attempts"] == 1

    events = read_events(client, long)
    assert_contiguous(events)
    assert statuses(events) == [
        (RunStatus.QUEUED, None, None),
        (RunStatus.RUNNING, None, 1),
        (RunStatus.QUEUED, "worker_shutdown", None),
        (RunStatus.RUNNING, None, 1),
        (RunStatus.SUCCEEDED, None, None),
    ]
    assert events[-1].data["output"] == run["output"]
    assert statuses(read_events(client, short)) == [
        (RunStatus.QUEUED, None, None),
        (RunStatus.RUNNING, None, 1),
        (RunStatus.SUCCEEDED, None, None),
    ]


def test_drain_executes_everything_queued_then_exits(api: tuple[LiveServer, httpx.Client], procs: Processes) -> None:
    _, client = api
    separate = [create_run(client, "echo", f"hello {i}")["id"] for i in range(3)]
    # Two on one thread: the second can only start once the first has finished; drain must wait for it.
    first = create_run(client, "slow", "words=3 delay=0.2")
    second = create_run(client, "slow", "words=2 delay=0", thread_id=first["thread_id"])
    everything = [*separate, first["id"], second["id"]]
    assert {get_run(client, i)["status"] for i in everything} == {RunStatus.QUEUED}

    worker = procs.worker("--drain", name="drain")
    assert worker.wait(START_SECONDS + 20) == 0, worker.output()

    runs = {i: get_run(client, i) for i in everything}
    assert {i: r["status"] for i, r in runs.items()} == dict.fromkeys(everything, RunStatus.SUCCEEDED)
    assert [runs[i]["output"] for i in separate] == [f"echo: hello {i}" for i in range(3)]
    assert runs[first["id"]]["output"] == "w1 w2 w3"
    assert runs[second["id"]]["output"] == "w1 w2"
    started = datetime.fromisoformat(runs[second["id"]]["started_at"])
    assert started >= datetime.fromisoformat(runs[first["id"]]["finished_at"])
    # This process executed each of them, once: the API server (workers=0) executed none.
    assert {i: len(worker.logged("run.claimed", run_id=i)) for i in everything} == dict.fromkeys(everything, 1)
    assert worker.logged("worker.stopped")
