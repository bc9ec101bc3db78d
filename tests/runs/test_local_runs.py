"""A run claimed by the process that created it (`engine.local`) is an ordinary leased run: its claim is in the
creating transaction, with the queue's events, and when that process is killed mid-run another worker carries it
on from its last written step once the lease lapses. A background run is left to the queue."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx

from switchboard.models.runs import FINAL, RunStatus
from tests.fixtures.demo import seed_demo
from tests.fixtures.http import create_run, get_run, parse_run_events, read_events
from tests.fixtures.processes import LEASE_SECONDS, Processes
from tests.fixtures.server import make_settings

SLOW_TEXT = " ".join(f"w{i}" for i in range(1, 31))


def test_a_streamed_run_claimed_where_it_was_created_survives_that_process(
    procs: Processes, db_url: str, tmp_path: Path
) -> None:
    server, url = procs.serve(name="server", worker_lease_seconds=LEASE_SECONDS)
    key = seed_demo(make_settings(db_url, tmp_path))["alice@example.com"].key
    headers = {"Authorization": f"Bearer {key}"}
    first_events: list[Any] = []
    streaming = threading.Event()

    def stream() -> None:
        # POST /v1/runs/stream: the request streams its run, so the server's own worker claims it as it is created.
        body = {"agent": "slow", "message": "words=30 delay=0.2"}
        try:
            with (
                httpx.Client(base_url=url, headers=headers, timeout=60) as client,
                client.stream("POST", "/v1/runs/stream", json=body) as response,
            ):
                for event in parse_run_events(response.iter_lines()):
                    first_events.append(event)
                    if event.type == "text_delta":
                        streaming.set()
        except httpx.HTTPError:
            pass  # the server is killed mid-stream: expected
        finally:
            streaming.set()

    reader = threading.Thread(target=stream, daemon=True)
    reader.start()
    assert streaming.wait(60), procs.output()
    run_id = str(first_events[0].data["run_id"])
    with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
        running = get_run(client, run_id)
        background = create_run(client, "echo", "left to the queue")
    assert (running["status"], running["attempts"]) == (RunStatus.RUNNING, 1)
    assert ":serve-0:" in running["worker"]  # the server's own worker loop
    # The same events as a claim from the queue: queued, then running under the server's worker.
    assert [(e.id, e.type) for e in first_events[:2]] == [(1, "status"), (2, "status")]
    assert first_events[0].data["status"] == RunStatus.QUEUED
    assert first_events[1].data == {"status": RunStatus.RUNNING, "attempt": 1, "worker": running["worker"]}
    assert background["status"] == RunStatus.QUEUED  # a background run is not claimed as it is created

    assert server.kill() == -9
    worker = procs.worker(name="worker", worker_lease_seconds=3)
    # The server is gone: read the run through a second server (API only) on the same database.
    _, other = procs.serve("--workers", "0", name="api")
    with httpx.Client(base_url=other, headers=headers, timeout=10) as client:
        done = procs.wait_for_run(
            client, run_id, lambda run: run["status"] in FINAL, "the worker to finish", alive=(worker,)
        )
        events = read_events(client, run_id)
    assert (done["status"], done["attempts"], done["output"]) == (RunStatus.SUCCEEDED, 2, SLOW_TEXT)
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert [(e.data["status"], e.data.get("reason")) for e in events if e.type == "status"] == [
        (RunStatus.QUEUED, None),
        (RunStatus.RUNNING, None),
        (RunStatus.QUEUED, "lease_expired"),
        (RunStatus.RUNNING, None),
        (RunStatus.SUCCEEDED, None),
    ]
