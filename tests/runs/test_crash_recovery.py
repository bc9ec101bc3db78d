"""A worker process dies mid-run (SIGKILL: no clean-up of any kind) and another one carries on: nothing is lost,
a tool's effect is not repeated, a non-idempotent call is not re-run, and a run whose worker dies on its last
attempt fails for good. Cancelling from the API server reaches a run executing in another process.

The API server runs in the test process with no workers; the workers are `switchboard worker` subprocesses."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from switchboard.models.runs import FINAL, RunStatus, StepStatus
from tests.fixtures.http import Event, create_run, open_events, read_events, read_until
from tests.fixtures.processes import LEASE_SECONDS, Processes
from tests.fixtures.server import LiveServer

ALICE = "alice@example.com"


def runs_by_id(client: httpx.Client) -> dict[str, dict[str, Any]]:
    response = client.get("/v1/runs", params={"limit": 100})
    assert response.status_code == 200, response.text
    return {run["id"]: run for run in response.json()["items"]}


def effect_lines(path: Path, kind: str) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.startswith(kind + " ")]


def assert_contiguous(events: list[Event]) -> None:
    assert [e.id for e in events] == list(range(1, len(events) + 1)), [(e.id, e.type) for e in events]
    assert events[-1].type == "end", [e.type for e in events]
    assert [e.type for e in events].count("end") == 1


def statuses(events: list[Event]) -> list[dict[str, Any]]:
    return [e.data for e in events if e.type == "status"]


def test_a_worker_killed_mid_run_loses_nothing_and_repeats_no_tool_call(
    api: tuple[LiveServer, httpx.Client], procs: Processes, effects: Callable[[], dict[str, int]], effects_log: Path
) -> None:
    """Worker A dies with runs in three states: counter runs past their (committed) tool call, streaming their
    answer; slow runs mid-stream; an emailer inside its non-idempotent call. Worker B carries every one on."""
    _, client = api
    keys = ["k1", "k2", "k3"]
    counters = {key: create_run(client, "counter", f"{key} slowly")["id"] for key in keys}
    slow = [create_run(client, "slow", "words=10 delay=0.25")["id"] for _ in range(2)]
    emailer = create_run(client, "emailer", "send the report delay=30")["id"]
    everything = [*counters.values(), *slow, emailer]
    assert {i: r["status"] for i, r in runs_by_id(client).items()} == dict.fromkeys(everything, RunStatus.QUEUED)

    first = procs.worker(name="worker-a", worker_lease_seconds=LEASE_SECONDS)

    # The crash window: every bump has taken effect (committed) and the answers are streaming; the email is
    # being sent (the tool sleeps 30 s after logging it).
    def in_the_window() -> bool:
        runs = runs_by_id(client)
        return (
            all(runs[i]["status"] == RunStatus.RUNNING for i in everything)
            and len(effect_lines(effects_log, "email")) == 1
            and effects() == dict.fromkeys(keys, 1)
        )

    procs.wait_until(in_the_window, "worker A to bump every key and start the email", alive=(first,))
    sending = [s for s in client.get(f"/v1/runs/{emailer}/steps").json() if s["kind"] == "tool_call"]
    assert [(s["tool_name"], s["status"]) for s in sending] == [("send_email", StepStatus.RUNNING)]
    assert first.kill() == -9

    # B's own lease is longer than A's (it sweeps every half lease): it must not lose runs on a busy machine.
    second = procs.worker(name="worker-b", worker_lease_seconds=3)

    def all_finished() -> dict[str, dict[str, Any]] | None:
        runs = runs_by_id(client)
        return runs if all(runs[i]["status"] in FINAL for i in everything) else None

    runs = procs.wait_until(all_finished, "worker B to finish every run", alive=(second,))
    assert set(runs) == set(everything)  # nothing lost, nothing added
    assert {i: runs[i]["status"] for i in everything} == dict.fromkeys(everything, RunStatus.SUCCEEDED)
    # Each was claimed by A, interrupted, swept back to the queue when its lease lapsed, and claimed by B.
    assert {i: runs[i]["attempts"] for i in everything} == dict.fromkeys(everything, 2)
    assert {i: runs[i]["error"] for i in everything} == dict.fromkeys(everything)
    assert {len(second.logged("run.claimed", run_id=i)) for i in everything} == {1}
    assert len(second.logged("run.lease_expired")) == len(everything)

    # Exactly once: the counters say 1, the tool ran once per key, and the answer saw the first (only) result.
    assert effects() == dict.fromkeys(keys, 1)
    assert sorted(line.split()[1] for line in effect_lines(effects_log, "bump")) == keys
    for key, run_id in counters.items():
        assert runs[run_id]["output"] == f"bumped {key} to 1 and that is all for now"
        steps = client.get(f"/v1/runs/{run_id}/steps").json()
        tool_steps = [s for s in steps if s["kind"] == "tool_call"]
        assert [(s["tool_name"], s["status"], s["attempt"]) for s in tool_steps] == [("bump", StepStatus.SUCCEEDED, 1)]
    for run_id in slow:
        assert runs[run_id]["output"] == " ".join(f"w{i}" for i in range(1, 11))

    # The email: not sent again, its outcome unknown, and the model told so.
    assert len(effect_lines(effects_log, "email")) == 1
    output = runs[emailer]["output"]
    assert output.startswith("email result: Outcome unknown: the call send_email("), output
    assert "not idempotent" in output
    tool_steps = [s for s in client.get(f"/v1/runs/{emailer}/steps").json() if s["kind"] == "tool_call"]
    assert [(s["tool_name"], s["status"], s["result"]) for s in tool_steps] == [
        ("send_email", StepStatus.UNKNOWN, None)
    ]
    assert tool_steps[0]["finished_at"] is not None

    for run_id in everything:
        events = read_events(client, run_id)
        assert_contiguous(events)
        assert [(s["status"], s.get("reason"), s.get("attempt")) for s in statuses(events)] == [
            (RunStatus.QUEUED, None, None),
            (RunStatus.RUNNING, None, 1),
            (RunStatus.QUEUED, "lease_expired", None),
            (RunStatus.RUNNING, None, 2),
            (RunStatus.SUCCEEDED, None, None),
        ], statuses(events)
        assert events[-1].data["status"] == RunStatus.SUCCEEDED
        assert events[-1].data["output"] == runs[run_id]["output"]
    assert second.alive()  # B goes on waiting for work


def test_a_run_whose_worker_dies_on_its_last_attempt_fails_for_good(
    api: tuple[LiveServer, httpx.Client],
    procs: Processes,
    runs_server: Callable[..., LiveServer],
) -> None:
    _, client = api
    run_id = create_run(client, "slow", "words=50 delay=0.2")["id"]
    first = procs.worker(name="worker-a", worker_lease_seconds=LEASE_SECONDS, run_max_attempts=1)
    procs.wait_for_run(client, run_id, lambda r: r["status"] == RunStatus.RUNNING, "the run to start", alive=(first,))
    first.kill()

    # Another process's sweeper (here: a server's embedded worker) finds the lapsed lease on the last attempt.
    runs_server(workers=1, worker_lease_seconds=LEASE_SECONDS, run_max_attempts=1)
    run = procs.wait_for_run(
        client, run_id, lambda r: r["status"] != RunStatus.RUNNING, "the sweeper to settle the run", 15
    )
    assert run["status"] == RunStatus.FAILED, run
    assert run["attempts"] == 1
    assert run["finished_at"] is not None
    assert run["error"]["type"] == "max_attempts_exceeded"
    message = run["error"]["message"]
    assert "lease lapsed" in message
    assert "SWITCHBOARD_RUN_MAX_ATTEMPTS=1" in message

    events = read_events(client, run_id)
    assert_contiguous(events)
    assert statuses(events)[-1] == {"status": RunStatus.FAILED, "error": run["error"]}
    assert events[-1].data == {"status": RunStatus.FAILED, "error": run["error"]}
    assert "lease_expired" not in [s.get("reason") for s in statuses(events)]  # never went back to the queue


def test_cancel_on_the_api_server_stops_a_run_in_a_worker_process(
    api: tuple[LiveServer, httpx.Client], procs: Processes
) -> None:
    _, client = api
    run_id = create_run(client, "slow", "words=100 delay=0.1")["id"]
    worker = procs.worker(name="worker")  # with a long lease: only the cancel may stop the run
    procs.wait_for_run(client, run_id, lambda r: r["status"] == RunStatus.RUNNING, "the run to start", alive=(worker,))
    with open_events(client, run_id) as live:  # the API server's live tail of what the worker writes
        seen = read_until(live, "text_delta")
    assert worker.alive(), worker.output()

    response = client.post(f"/v1/runs/{run_id}/cancel")
    cancelled_at = time.monotonic()
    assert response.status_code == 200, response.text
    flagged = response.json()
    assert flagged["status"] == RunStatus.RUNNING  # flagged; the worker, elsewhere, stops it

    run = procs.wait_for_run(
        client, run_id, lambda r: r["status"] != RunStatus.RUNNING, "the run to stop", 3, alive=(worker,)
    )
    assert time.monotonic() - cancelled_at < 3
    assert run["status"] == RunStatus.CANCELLED, run
    assert run["error"] is None
    # What it had produced is kept: the first words (at least those already seen), not all of them.
    words = run["output"].split()
    assert seen[-1].data["delta"].strip() in words
    assert 1 <= len(words) < 100, run["output"]
    assert words == [f"w{i}" for i in range(1, len(words) + 1)], run["output"]

    events = read_events(client, run_id)
    assert_contiguous(events)
    assert events[: len(seen)] == seen
    types = [e.type for e in events]
    assert types.count("cancel_requested") == 1
    assert types.index("cancel_requested") < types.index("end")
    requested = next(e for e in events if e.type == "cancel_requested")
    assert requested.data == {"reason": "cancelled by the user"}
    assert requested.id == flagged["last_event_id"]  # recorded by the time the request answered
    assert events[-1].data["status"] == RunStatus.CANCELLED
    assert events[-1].data["output"] == run["output"]
    assert worker.alive()
