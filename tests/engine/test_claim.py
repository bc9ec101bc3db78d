"""Engine level (statements on one rolled-back transaction, see conftest): `claim` — which queued runs a worker
takes, in what order, and what a claim writes; one run at a time per thread, in the order they were queued."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.engine import queue, transitions
from switchboard.models.runs import RunStatus
from tests.engine.conftest import (
    AGENT,
    LEASE_SECONDS,
    OWNER,
    USAGE,
    add_paused_run,
    add_run,
    add_running_run,
    add_thread,
    claim,
    clock,
    read_events,
    read_run,
)


async def claimed_ids(connection: AsyncConnection, agents: tuple[str, ...] = (AGENT,), n: int = 100) -> list[uuid.UUID]:
    return [c.run_id for c in await claim(connection, agents, n=n)]


# --- order, count and agents ---


async def test_claim_takes_the_oldest_runs_first_across_threads(connection: AsyncConnection, user: int) -> None:
    runs = [await add_run(connection, user) for _ in range(3)]  # each on its own thread

    assert await claimed_ids(connection) == runs


async def test_claim_takes_at_most_n_runs_and_leaves_the_newer_ones_queued(
    connection: AsyncConnection, user: int
) -> None:
    first, second, third = [await add_run(connection, user) for _ in range(3)]

    assert await claimed_ids(connection, n=2) == [first, second]
    assert (await read_run(connection, third))["status"] == RunStatus.QUEUED
    assert await claimed_ids(connection, n=2) == [third]


async def test_claim_takes_only_runs_of_the_agents_listed(connection: AsyncConnection, user: int) -> None:
    other = await add_run(connection, user, agent="extractor")
    mine = await add_run(connection, user, agent="support")

    assert await claimed_ids(connection, ("support",)) == [mine]
    assert (await read_run(connection, other))["status"] == RunStatus.QUEUED
    assert await claimed_ids(connection, ("nobody",)) == []


async def test_claim_with_nothing_queued_claims_nothing(connection: AsyncConnection, user: int) -> None:
    await add_running_run(connection, user)

    assert await claimed_ids(connection) == []


# --- what a claim writes ---


async def test_a_claimed_run_is_running_under_a_lease_with_one_more_attempt(
    connection: AsyncConnection, user: int
) -> None:
    run_id = await add_run(connection, user)
    before = await clock(connection)

    [claimed] = await claim(connection)

    after = await clock(connection)
    assert claimed == queue.Claimed(run_id=run_id, attempt=1)
    run = await read_run(connection, run_id)
    assert run["status"] == RunStatus.RUNNING
    assert run["attempts"] == 1
    assert run["lease_owner"] == run["worker_id"] == OWNER
    assert before <= run["started_at"] <= after
    lease = timedelta(seconds=LEASE_SECONDS)
    assert before + lease <= run["lease_expires_at"] <= after + lease
    assert run["event_seq"] == 2
    events = await read_events(connection, run_id)
    assert [(e.seq, e.type, e.data) for e in events[1:]] == [
        (2, "status", {"status": RunStatus.RUNNING, "attempt": 1, "worker": OWNER})
    ]


async def test_a_run_claimed_again_keeps_its_first_started_at(connection: AsyncConnection, user: int) -> None:
    run_id = await add_running_run(connection, user)
    started_at = (await read_run(connection, run_id))["started_at"]
    await transitions.release(connection, run_id=run_id, owner=OWNER, reason="shutdown")

    [claimed] = await claim(connection)

    assert claimed == queue.Claimed(run_id=run_id, attempt=1)  # the released attempt was not counted
    assert (await read_run(connection, run_id))["started_at"] == started_at


# --- one run at a time per thread, first in first out ---


async def test_a_later_run_of_a_thread_waits_while_an_earlier_one_is_queued(
    connection: AsyncConnection, user: int
) -> None:
    thread = await add_thread(connection, user)
    first = await add_run(connection, user, thread)
    second = await add_run(connection, user, thread)

    assert await claimed_ids(connection) == [first]
    assert (await read_run(connection, second))["status"] == RunStatus.QUEUED


async def test_a_later_run_waits_for_an_earlier_queued_run_of_its_thread_that_this_claim_skips(
    connection: AsyncConnection, user: int
) -> None:
    thread = await add_thread(connection, user)
    await add_run(connection, user, thread, agent="extractor")
    await add_run(connection, user, thread, agent="support")

    assert await claimed_ids(connection, ("support",)) == []


async def test_a_later_run_of_a_thread_waits_while_an_earlier_one_is_running(
    connection: AsyncConnection, user: int
) -> None:
    thread = await add_thread(connection, user)
    await add_run(connection, user, thread)
    assert len(await claim(connection)) == 1
    await add_run(connection, user, thread)

    assert await claimed_ids(connection) == []


async def test_a_later_run_of_a_thread_waits_while_an_earlier_one_awaits_approval(
    connection: AsyncConnection, user: int
) -> None:
    paused = await add_paused_run(connection, user)
    thread = (await read_run(connection, paused))["thread_id"]
    await add_run(connection, user, thread)

    assert await claimed_ids(connection) == []


@pytest.mark.parametrize("holder", [RunStatus.RUNNING, RunStatus.REQUIRES_ACTION])
async def test_runs_of_other_threads_are_claimed_while_a_thread_is_held(
    connection: AsyncConnection, user: int, holder: RunStatus
) -> None:
    thread = await add_thread(connection, user)
    await add_run(connection, user, thread)
    [held] = await claim(connection)
    if holder == RunStatus.REQUIRES_ACTION:
        await transitions.pause(connection, run_id=held.run_id, owner=OWNER, usage=USAGE, events=())
    waiting = await add_run(connection, user, thread)
    elsewhere = await add_run(connection, user)

    assert await claimed_ids(connection) == [elsewhere]
    assert (await read_run(connection, waiting))["status"] == RunStatus.QUEUED


async def test_the_next_run_of_a_thread_is_claimable_once_the_earlier_one_is_final(
    connection: AsyncConnection, user: int
) -> None:
    thread = await add_thread(connection, user)
    first = await add_run(connection, user, thread)
    second = await add_run(connection, user, thread)
    assert await claimed_ids(connection) == [first]
    await transitions.settle(connection, run_id=first, owner=OWNER, status=RunStatus.SUCCEEDED, usage=USAGE)

    assert await claimed_ids(connection) == [second]
