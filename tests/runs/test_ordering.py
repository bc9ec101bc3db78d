"""Ordering and concurrency rules over real HTTP: one active run per thread (multitask_strategy enqueue, reject,
interrupt), runs on different threads in parallel, and per-agent concurrency limits (`solo`: 1 at a time,
on_busy=queue), also with two server processes claiming from the same database."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from switchboard.engine.limits import LimitGroup
from switchboard.models.runs import FINAL, RunStatus
from tests.fixtures.database import run_db
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.http import assert_error, get_run, read_events
from tests.fixtures.server import LiveServer

USER = "test.user@example.com"
DEADLINE = 20.0
SOLO = LimitGroup(key="solo", max_runs=1, agents=("solo",))  # as the test agents declare it


# --- helpers ---


def post_run(client: httpx.Client, agent: str, message: str, **extra: Any) -> httpx.Response:
    return client.post("/v1/runs", json={"agent": agent, "message": message, **extra})


def created(client: httpx.Client, agent: str, message: str, **extra: Any) -> dict[str, Any]:
    response = post_run(client, agent, message, **extra)
    assert response.status_code == 202, response.text
    run: dict[str, Any] = response.json()
    assert run["status"] == RunStatus.QUEUED, run
    return run


def wait_run(
    client: httpx.Client, run_id: str, until: Callable[[dict[str, Any]], bool], what: str = "finished"
) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE
    while True:
        run = get_run(client, run_id)
        if until(run):
            return run
        assert time.monotonic() < deadline, f"run {run_id} not {what} in time: {run}"
        time.sleep(0.02)


def wait_final(client: httpx.Client, run_id: str) -> dict[str, Any]:
    return wait_run(client, run_id, lambda run: run["status"] in FINAL)


def list_runs(client: httpx.Client, **params: str) -> list[dict[str, Any]]:
    response = client.get("/v1/runs", params={"limit": "100", **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def interval(run: dict[str, Any]) -> tuple[datetime, datetime]:
    assert run["started_at"] is not None, run
    assert run["finished_at"] is not None, run
    return at(run["started_at"]), at(run["finished_at"])


def run_events(client: httpx.Client, run_id: str) -> list[tuple[str, dict[str, Any]]]:
    """A finished run's events, from its resumable stream (which closes after `end`)."""
    events = [(event.type, event.data) for event in read_events(client, run_id)]
    assert events, "no events"
    assert events[-1][0] == "end", events
    return events


def count_runs(server: LiveServer) -> int:
    """Every run in the database, whoever owns it."""

    async def go(session: AsyncSession) -> int:
        return int((await session.execute(text("SELECT count(*) FROM runs"))).scalar_one())

    return run_db(server.database_url, go)


def fire(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run the calls at the same moment, one thread each (lined up on a barrier)."""
    barrier = threading.Barrier(len(calls))

    def go(call: Callable[[], httpx.Response]) -> httpx.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(go, calls))


def full_text(words: int) -> str:
    return " ".join(f"w{i}" for i in range(1, words + 1))


# --- one active run per thread: enqueue ---


def test_enqueued_runs_on_one_thread_run_one_at_a_time_in_order(
    runs_server: Callable[..., LiveServer],
) -> None:
    """With plenty of worker concurrency, runs 2 and 3 wait for the thread; each starts after the previous ends."""
    server = runs_server(worker_concurrency=8)
    user = seed_demo(server.settings)[USER]
    with server.client(user.key) as client:
        first = created(client, "slow", "words=8 delay=0.06")
        thread_id = first["thread_id"]
        second = created(client, "slow", "words=3 delay=0.05 second", thread_id=thread_id)
        third = created(client, "slow", "words=2 delay=0.05 third", thread_id=thread_id)
        assert second["multitask_strategy"] == "enqueue"
        assert third["thread_id"] == thread_id
        order = [first["id"], second["id"], third["id"]]

        # Consistent snapshots of the thread (one query each) until every run has finished.
        rank = {RunStatus.SUCCEEDED: 0, RunStatus.RUNNING: 1, RunStatus.QUEUED: 2}
        seen_waiting = False
        deadline = time.monotonic() + DEADLINE
        while True:
            by_id = {run["id"]: run["status"] for run in list_runs(client, thread_id=thread_id)}
            statuses = [by_id[run_id] for run_id in order]
            assert set(statuses) <= set(rank), statuses
            assert statuses.count(RunStatus.RUNNING) <= 1, statuses
            ranks = [rank[status] for status in statuses]
            assert ranks == sorted(ranks), f"a later run overtook an earlier one: {statuses}"
            seen_waiting |= statuses == [RunStatus.RUNNING, RunStatus.QUEUED, RunStatus.QUEUED]
            if statuses == [RunStatus.SUCCEEDED] * 3:
                break
            assert time.monotonic() < deadline, statuses
            time.sleep(0.02)
        assert seen_waiting, "never saw runs 2 and 3 queued while run 1 was running"

        runs = [get_run(client, run_id) for run_id in order]
        assert [run["output"] for run in runs] == [full_text(8), full_text(3), full_text(2)]
        assert all(run["attempts"] == 1 for run in runs), runs
        for earlier, later in itertools.pairwise(runs):
            assert interval(later)[0] >= interval(earlier)[1], (earlier, later)
        thread = client.get(f"/v1/threads/{thread_id}").json()
        assert thread["turns"] == 3


def test_runs_on_different_threads_run_at_the_same_time(
    users: tuple[LiveServer, dict[str, DemoUser]],
) -> None:
    server, demo = users
    with server.client(demo[USER].key) as client:
        one = created(client, "slow", "words=8 delay=0.06")
        two = created(client, "slow", "words=8 delay=0.06")
        assert one["thread_id"] != two["thread_id"]
        deadline = time.monotonic() + DEADLINE
        while [run["status"] for run in list_runs(client, agent="slow")] != [RunStatus.RUNNING, RunStatus.RUNNING]:
            assert time.monotonic() < deadline, "the two runs were never running at the same time"
            time.sleep(0.02)
        first, second = wait_final(client, one["id"]), wait_final(client, two["id"])
    assert first["status"] == second["status"] == RunStatus.SUCCEEDED
    (start_1, end_1), (start_2, end_2) = interval(first), interval(second)
    assert start_1 < end_2, "the two runs did not overlap in time"
    assert start_2 < end_1, "the two runs did not overlap in time"


# --- reject ---


def test_reject_while_the_thread_has_a_queued_or_running_run(
    runs_server: Callable[..., LiveServer],
) -> None:
    """409 naming the busy run, and nothing is created: no run, no turn. Once the thread is idle, accepted."""
    api = runs_server(workers=0)  # runs stay queued until a worker server starts on the same database
    user = seed_demo(api.settings)[USER]
    with api.client(user.key) as client:
        busy = created(client, "slow", "words=40 delay=0.05")
        thread_id = busy["thread_id"]

        rejected = post_run(client, "slow", "hello", thread_id=thread_id, multitask_strategy="reject")
        error = assert_error(rejected, 409, "conflict")
        assert busy["id"] in error["message"], error
        assert RunStatus.QUEUED in error["message"], error
        assert [run["id"] for run in list_runs(client)] == [busy["id"]]
        assert client.get(f"/v1/threads/{thread_id}").json()["turns"] == 1

        runs_server(workers=1)
        wait_run(client, busy["id"], lambda run: run["status"] == RunStatus.RUNNING, RunStatus.RUNNING)
        rejected = post_run(client, "slow", "hello", thread_id=thread_id, multitask_strategy="reject")
        error = assert_error(rejected, 409, "conflict")
        assert busy["id"] in error["message"], error
        assert RunStatus.RUNNING in error["message"], error
        assert [run["id"] for run in list_runs(client)] == [busy["id"]]
        assert client.get(f"/v1/threads/{thread_id}").json()["turns"] == 1

        # Cancelled (a final status) leaves the thread idle: reject now accepts.
        assert client.post(f"/v1/runs/{busy['id']}/cancel").status_code == 200
        assert wait_final(client, busy["id"])["status"] == RunStatus.CANCELLED
        accepted = created(client, "slow", "words=1", thread_id=thread_id, multitask_strategy="reject")
        assert wait_final(client, accepted["id"])["status"] == RunStatus.SUCCEEDED
        assert client.get(f"/v1/threads/{thread_id}").json()["turns"] == 2


def test_concurrent_rejects_on_an_idle_thread_accept_exactly_one(
    runs_server: Callable[..., LiveServer],
) -> None:
    """The thread's row lock decides: of 8 simultaneous creates with reject, one 202 and seven 409."""
    server = runs_server(workers=0)
    user = seed_demo(server.settings)[USER]
    with server.client(user.key) as client:
        response = client.post("/v1/threads", json={"agent": "slow"})
        assert response.status_code == 201, response.text
        thread_id = response.json()["id"]

    def create(index: int) -> Callable[[], httpx.Response]:
        def call() -> httpx.Response:
            with server.client(user.key) as client:
                return post_run(client, "slow", f"try {index}", thread_id=thread_id, multitask_strategy="reject")

        return call

    responses = fire([create(index) for index in range(8)])
    accepted = [r for r in responses if r.status_code == 202]
    assert len(accepted) == 1, [r.status_code for r in responses]
    winner = accepted[0].json()["id"]
    for response in responses:
        if response.status_code != 202:
            assert winner in assert_error(response, 409, "conflict")["message"]
    with server.client(user.key) as client:
        assert [run["id"] for run in list_runs(client, thread_id=thread_id)] == [winner]
        assert client.get(f"/v1/threads/{thread_id}").json()["turns"] == 1
    assert count_runs(server) == 1


# --- interrupt ---


def test_interrupt_cancels_the_running_run_keeping_its_output_then_runs(
    users: tuple[LiveServer, dict[str, DemoUser]],
) -> None:
    server, demo = users
    with server.client(demo[USER].key) as client:
        long = created(client, "slow", "words=80 delay=0.05")
        # Running, and some of its text already written (queued, running, then text deltas).
        wait_run(
            client,
            long["id"],
            lambda run: run["status"] == RunStatus.RUNNING and run["last_event_id"] >= 6,
            "streaming",
        )

        started = time.monotonic()
        new = created(client, "slow", "words=2 delay=0.01", thread_id=long["thread_id"], multitask_strategy="interrupt")
        # Until the interrupted run has actually stopped, the new one waits (one snapshot per query).
        deadline = time.monotonic() + DEADLINE
        while True:
            statuses = {run["id"]: run["status"] for run in list_runs(client, thread_id=long["thread_id"])}
            if statuses[long["id"]] in FINAL:
                break
            assert statuses == {long["id"]: RunStatus.RUNNING, new["id"]: RunStatus.QUEUED}, statuses
            assert time.monotonic() < deadline, statuses
            time.sleep(0.01)
        interrupted = wait_final(client, long["id"])
        assert time.monotonic() - started < 3, "the interrupted run was not stopped promptly"
        assert interrupted["status"] == RunStatus.CANCELLED, interrupted
        partial = interrupted["output"]
        assert isinstance(partial, str), interrupted
        assert partial, interrupted
        assert full_text(80).startswith(partial), partial
        assert partial != full_text(80), partial

        after = wait_final(client, new["id"])
        assert (after["status"], after["output"]) == ("succeeded", full_text(2)), after

        kinds = run_events(client, long["id"])
        assert ("cancel_requested", {"reason": "interrupted"}) in kinds, kinds
        assert kinds[-1][1]["status"] == RunStatus.CANCELLED


def test_interrupt_cancels_queued_runs_at_once_then_runs_when_a_worker_comes(
    runs_server: Callable[..., LiveServer],
) -> None:
    """Run 1 queued and run 2 enqueued behind it: an interrupting run 3 cancels both immediately."""
    api = runs_server(workers=0)
    user = seed_demo(api.settings)[USER]
    with api.client(user.key) as client:
        first = created(client, "slow", "words=3")
        thread_id = first["thread_id"]
        second = created(client, "slow", "words=3", thread_id=thread_id)
        third = created(client, "slow", "words=2 delay=0.01", thread_id=thread_id, multitask_strategy="interrupt")
        for run_id in (first["id"], second["id"]):
            run = get_run(client, run_id)  # no worker exists: cancelled by the create itself
            assert run["status"] == RunStatus.CANCELLED, run
            assert run["finished_at"] is not None, run
            assert (run["started_at"], run["attempts"], run["output"]) == (None, 0, None), run
            end = run_events(client, run_id)[-1]
            assert end == (
                "end",
                {"status": RunStatus.CANCELLED, "reason": "interrupted", "output": None, "error": None},
            )
        assert get_run(client, third["id"])["status"] == RunStatus.QUEUED

        runs_server(workers=1)
        done = wait_final(client, third["id"])
        assert (done["status"], done["output"]) == ("succeeded", full_text(2)), done
        assert {get_run(client, r)["status"] for r in (first["id"], second["id"])} == {RunStatus.CANCELLED}
        assert client.get(f"/v1/threads/{thread_id}").json()["turns"] == 3


# --- per-agent concurrency limits ---


def assert_one_at_a_time(client: httpx.Client, run_ids: list[str]) -> list[dict[str, Any]]:
    """Sample the agent's runs until all finished: never two running; then their intervals do not overlap."""
    deadline = time.monotonic() + DEADLINE
    seen_busy = False
    while True:
        statuses = {run["id"]: run["status"] for run in list_runs(client, agent="solo")}
        running = [run_id for run_id, status in statuses.items() if status == RunStatus.RUNNING]
        assert len(running) <= 1, statuses
        seen_busy |= len(running) == 1 and RunStatus.QUEUED in statuses.values()
        if all(statuses[run_id] in FINAL for run_id in run_ids):
            break
        assert time.monotonic() < deadline, statuses
        time.sleep(0.01)
    assert seen_busy, "never saw a solo run waiting while another ran"
    runs = sorted((get_run(client, run_id) for run_id in run_ids), key=lambda run: at(run["started_at"]))
    assert [run["status"] for run in runs] == [RunStatus.SUCCEEDED] * len(run_ids), runs
    for earlier, later in itertools.pairwise(runs):
        assert interval(later)[0] >= interval(earlier)[1], (earlier, later)
    return runs


def test_agent_limited_to_one_runs_one_at_a_time_across_threads(
    runs_server: Callable[..., LiveServer],
) -> None:
    """`solo` (limit 1, on_busy=queue): every create is accepted, and with concurrency 8 they still run singly."""
    server = runs_server(worker_concurrency=8)
    user = seed_demo(server.settings)[USER]
    with server.client(user.key) as client:
        runs = [created(client, "solo", "words=3 delay=0.05") for _ in range(3)]
        assert len({run["thread_id"] for run in runs}) == 3
        done = assert_one_at_a_time(client, [run["id"] for run in runs])
    assert all(run["output"] == full_text(3) and run["attempts"] == 1 for run in done), done


def test_agent_limit_holds_across_two_server_processes(
    runs_server: Callable[..., LiveServer],
) -> None:
    """Two servers with their own workers on one database race for the single `solo` slot: never both win."""
    one, two = runs_server(worker_concurrency=8), runs_server(worker_concurrency=8)
    user = seed_demo(one.settings)[USER]

    def create(server: LiveServer) -> Callable[[], httpx.Response]:
        def call() -> httpx.Response:
            with server.client(user.key) as client:
                return post_run(client, "solo", "words=2 delay=0.05")

        return call

    responses = fire([create(one), create(two)] * 3)
    assert [r.status_code for r in responses] == [202] * 6, [r.text for r in responses]
    with one.client(user.key) as client:
        assert_one_at_a_time(client, [r.json()["id"] for r in responses])


@pytest.fixture
def server_and_user(runs_server: Callable[..., LiveServer]) -> tuple[LiveServer, DemoUser]:
    """For async tests, which cannot seed (seeding runs its own event loop)."""
    server = runs_server(worker_concurrency=8)
    return server, seed_demo(server.settings)[USER]


async def test_started_at_is_when_the_run_was_claimed_not_when_the_claim_began(
    server_and_user: tuple[LiveServer, DemoUser],
) -> None:
    """A claim that waits (here for the `solo` limit group's lock, held by the test as another claimer would)
    must not date its run's start from before the wait: run 2 is claimed only after run 1 finished, so its
    started_at must not be earlier than run 1's finished_at."""
    server, user = server_and_user
    engine = create_async_engine(server.database_url)
    headers = {"Authorization": f"Bearer {user.key}"}
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as client:

            async def fetch(run_id: str) -> dict[str, Any]:
                response = await client.get(f"/v1/runs/{run_id}")
                assert response.status_code == 200, response.text
                run: dict[str, Any] = response.json()
                return run

            async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
                deadline = time.monotonic() + DEADLINE
                while not await check():
                    assert time.monotonic() < deadline, what
                    await asyncio.sleep(0.01)

            async def create() -> str:
                response = await client.post("/v1/runs", json={"agent": "solo", "message": "words=8 delay=0.1"})
                assert response.status_code == 202, response.text
                return str(response.json()["id"])

            async def status_is(run_id: str, status: str) -> bool:
                return bool((await fetch(run_id))["status"] == status)

            first = await create()
            await until(lambda: status_is(first, RunStatus.RUNNING), "run 1 running")
            async with engine.connect() as lock:
                await lock.execute(text("SELECT pg_advisory_lock(hashtext(:key))"), {"key": SOLO.lock_key})
                second = await create()  # the worker's claim now waits for the group lock

                async def claim_waiting() -> bool:
                    async with engine.connect() as probe:
                        waiting = await probe.scalar(
                            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                        )
                    return bool(waiting)

                await until(claim_waiting, "a claim waiting for the solo group's lock")
                assert (await fetch(first))["status"] == RunStatus.RUNNING
                await until(lambda: status_is(first, RunStatus.SUCCEEDED), "run 1 finished")
                await lock.execute(text("SELECT pg_advisory_unlock(hashtext(:key))"), {"key": SOLO.lock_key})
            await until(lambda: status_is(second, RunStatus.SUCCEEDED), "run 2 finished")
            one, two = await fetch(first), await fetch(second)
    finally:
        await engine.dispose()
    assert interval(two)[0] >= interval(one)[1], (one, two)
