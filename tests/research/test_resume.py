"""A worker killed (SIGKILL) in the middle of a research run: another worker finishes it without searching again
for what was already searched (the run's tool ledger answers those calls from the record), and the report's
citations hold."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from switchboard.models.runs import FINAL, RunStatus, StepStatus
from tests.fixtures.demo import seed_demo
from tests.fixtures.http import create_run, read_events
from tests.fixtures.processes import LEASE_SECONDS, processes
from tests.fixtures.server import LiveServer
from tests.research.helpers import assert_citations_hold
from tests.research.slow_agents import NAME

SLOW_PLUGIN = "tests.research.slow_agents:plugin"
QUESTION = "What is your refund policy for shipped orders?"


def tool_steps(client: httpx.Client, run_id: str) -> list[dict[str, Any]]:
    steps = client.get(f"/v1/runs/{run_id}/steps").json()
    return [s for s in steps if s["kind"] == "tool_call"]


def test_a_research_run_resumed_after_a_crash_does_not_search_again(
    make_server: Callable[..., LiveServer], db_url: str, tmp_path: Path
) -> None:
    server = make_server(workers=0, plugins=[SLOW_PLUGIN])
    people = seed_demo(server.settings)
    with server.client(people["alice@example.com"].key) as client, processes(db_url, tmp_path) as procs:
        run_id = create_run(client, NAME, QUESTION)["id"]
        first = procs.worker(name="worker-a", plugins=SLOW_PLUGIN, worker_lease_seconds=LEASE_SECONDS)

        def two_searches_done() -> list[dict[str, Any]] | None:
            searched = [s for s in tool_steps(client, run_id) if s["tool_name"] == "search_knowledge"]
            done = [s for s in searched if s["status"] == StepStatus.SUCCEEDED]
            return done if len(done) >= 2 else None

        before = procs.wait_until(two_searches_done, "worker A to finish two searches", alive=(first,))
        assert first.kill() == -9
        second = procs.worker(name="worker-b", plugins=SLOW_PLUGIN, worker_lease_seconds=3)

        def finished() -> dict[str, Any] | None:
            run: dict[str, Any] = client.get(f"/v1/runs/{run_id}").json()
            return run if run["status"] in FINAL else None

        run = procs.wait_until(finished, "worker B to finish the run", alive=(second,))
        assert run["status"] == RunStatus.SUCCEEDED, run
        assert run["attempts"] == 2

        steps = tool_steps(client, run_id)
        searches = [s for s in steps if s["tool_name"] == "search_knowledge"]
        queries = [s["args"]["query"] for s in searches]
        assert len(queries) == len(set(queries)) == 4  # one search per sub-question, none done twice
        by_call = {s["tool_call_id"]: s for s in searches}
        for done in before:  # searched by worker A: recorded once, in its attempt, and answered from the record
            assert by_call[done["tool_call_id"]]["attempt"] == 1
            assert by_call[done["tool_call_id"]]["result"] == done["result"]
        assert {s["attempt"] for s in searches} == {1, 2}  # the rest were searched by worker B
        assert [s["tool_name"] for s in steps].count("plan_research") == 1

        events = read_events(client, run_id)
        searching = [e.data["query"] for e in events if e.type == "progress" and e.data["stage"] == "searching"]
        assert len(searching) == len(set(searching))  # no search reported twice
        assert set(searching) <= set(queries)
        assert_citations_hold(client, run["output"])
        assert second.alive()
