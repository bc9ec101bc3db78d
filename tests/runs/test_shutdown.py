"""`switchboard serve` stopped with SIGTERM while requests wait for runs, a stream is open and a run is in flight:
the waits answer at once (`/v1/runs/wait` 202 with the run as it is, chat 503 pointing at the run), the stream
closes, the run in flight goes back to the queue, and the process exits within its grace period + 5 s. Nothing is
lost: every run is still there for the next worker."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from switchboard.models.runs import RunStatus
from tests.fixtures.demo import seed_demo
from tests.fixtures.http import create_run, get_run, wait_for_status
from tests.fixtures.processes import Processes
from tests.fixtures.server import make_settings

GRACE_SECONDS = 2.0


def test_sigterm_ends_waits_and_streams_and_exits_within_the_grace_period(
    procs: Processes, db_url: str, tmp_path: Path
) -> None:
    server, url = procs.serve(name="server", worker_grace_seconds=GRACE_SECONDS)
    key = seed_demo(make_settings(db_url, tmp_path))["alice@example.com"].key
    answers: dict[str, httpx.Response] = {}
    streamed: list[str] = []

    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        paused = create_run(client, "refunder", "amount=5")
        wait_for_status(client, paused["id"], RunStatus.REQUIRES_ACTION)
        thread = paused["thread_id"]
        slow = create_run(client, "slow", "words=200 delay=0.1")  # 20 s: still running at the signal
        running = slow["id"]
        wait_for_status(client, running, RunStatus.RUNNING)

        def ask(name: str, path: str, body: dict[str, Any]) -> None:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
                answers[name] = c.post(path, json=body)

        def stream() -> None:
            with (
                httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c,
                c.stream("GET", f"/v1/runs/{paused['id']}/events") as response,
            ):
                streamed.extend(response.iter_lines())

        # Queued behind the paused run, and behind the slow one (a chat turn behind a pending approval is
        # refused at once): these would wait for SWITCHBOARD_RUN_WAIT_SECONDS (300 s).
        chat_body = {"agent": "slow", "message": "words=2 delay=0", "thread_id": slow["thread_id"]}
        waiters = [
            threading.Thread(
                target=ask,
                args=("wait", "/v1/runs/wait", {"agent": "refunder", "message": "amount=1", "thread_id": thread}),
            ),
            threading.Thread(target=ask, args=("chat", "/v1/chat", chat_body)),
            threading.Thread(target=stream),
        ]
        for waiter in waiters:
            waiter.start()

        def runs_on(thread_id: str) -> int:
            return len(client.get("/v1/runs", params={"thread_id": thread_id}).json()["items"])

        procs.wait_until(
            lambda: runs_on(thread) == 2 and runs_on(slow["thread_id"]) == 2,
            "the two waiting requests' runs",
            alive=(server,),
        )
        time.sleep(0.5)  # the waits are waiting, the stream is open

        signalled = time.monotonic()
        exit_code = server.signal(signal.SIGTERM, wait=GRACE_SECONDS + 10)
        assert exit_code == 128 + signal.SIGTERM, server.output()  # a clean exit, reporting the signal
        took = time.monotonic() - signalled
        for waiter in waiters:
            waiter.join(10)
            assert not waiter.is_alive()

    assert took < GRACE_SECONDS + 5, took
    waited = answers["wait"]
    assert waited.status_code == 202, waited.text
    assert waited.json()["status"] == RunStatus.QUEUED
    assert waited.headers["location"] == f"/v1/runs/{waited.json()['id']}"
    chatted = answers["chat"]
    assert chatted.status_code == 503, chatted.text
    assert chatted.json()["error"]["type"] == "unavailable"
    assert "shutting down" in chatted.json()["error"]["message"]
    assert chatted.headers["location"].startswith("/v1/runs/")
    assert any(line.startswith("event: approval_required") for line in streamed), streamed  # and it ended cleanly

    # Nothing lost: a new server finds every run where the shutdown left it.
    _, url = procs.serve("--workers", "0", name="after")
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        assert get_run(client, paused["id"])["status"] == RunStatus.REQUIRES_ACTION
        assert get_run(client, running)["status"] == RunStatus.QUEUED  # given back, its attempt not counted
        assert get_run(client, running)["attempts"] == 0
        queued = [r for r in client.get("/v1/runs", params={"thread_id": thread}).json()["items"]]
        assert sorted(r["status"] for r in queued) == sorted([RunStatus.REQUIRES_ACTION, RunStatus.QUEUED])
        behind = client.get("/v1/runs", params={"thread_id": slow["thread_id"]}).json()["items"]
        assert [r["status"] for r in behind] == [RunStatus.QUEUED, RunStatus.QUEUED]
