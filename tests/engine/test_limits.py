"""Engine level (statements on one rolled-back transaction, see conftest): per-agent concurrency limits. A claim
takes a limit group's runs only while the group has room (`max_runs` minus its running runs), after the runs of
agents without a limit; paused runs hold no slot. `busy_in_group` is what a create with on_busy=reject counts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.engine import queue, transitions
from switchboard.engine.limits import LimitGroup, busy_in_group, running_in_group
from switchboard.models.runs import RunStatus
from tests.engine.conftest import (
    LEASE_SECONDS,
    OWNER,
    USAGE,
    add_paused_run,
    add_run,
    add_running_run,
    read_status,
)

SOLO = LimitGroup(key="solo", max_runs=1, agents=("solo",))
TRIO = LimitGroup(key="trio", max_runs=3, agents=("trio",))
PAIR = LimitGroup(key="pair", max_runs=2, agents=("left", "right"))


async def claim_ids(
    connection: AsyncConnection, groups: Sequence[LimitGroup], free: Sequence[str] = (), n: int = 100
) -> list[uuid.UUID]:
    claimed = await queue.claim(
        connection, owner=OWNER, n=n, lease_seconds=LEASE_SECONDS, free_agents=free, groups=groups
    )
    return [c.run_id for c in claimed]


async def test_a_group_with_max_runs_1_and_one_running_run_claims_nothing_more(
    connection: AsyncConnection, user: int
) -> None:
    await add_running_run(connection, user, agent="solo")
    waiting = await add_run(connection, user, agent="solo")

    assert await claim_ids(connection, [SOLO]) == []
    assert await read_status(connection, waiting) == RunStatus.QUEUED


async def test_a_claim_never_takes_more_than_max_runs_of_a_group(connection: AsyncConnection, user: int) -> None:
    runs = [await add_run(connection, user, agent="solo") for _ in range(3)]

    assert await claim_ids(connection, [SOLO]) == runs[:1]


async def test_a_group_has_room_for_max_runs_minus_its_running_runs(connection: AsyncConnection, user: int) -> None:
    await add_running_run(connection, user, agent="trio")
    queued = [await add_run(connection, user, agent="trio") for _ in range(4)]

    assert await claim_ids(connection, [TRIO]) == queued[:2]
    assert await claim_ids(connection, [TRIO]) == []


async def test_n_caps_a_claim_from_a_group_with_more_room(connection: AsyncConnection, user: int) -> None:
    queued = [await add_run(connection, user, agent="trio") for _ in range(3)]

    assert await claim_ids(connection, [TRIO], n=1) == queued[:1]


async def test_the_running_runs_of_one_agent_of_a_group_count_against_the_others(
    connection: AsyncConnection, user: int
) -> None:
    await add_running_run(connection, user, agent="left")
    right = [await add_run(connection, user, agent="right") for _ in range(2)]

    assert await claim_ids(connection, [PAIR]) == right[:1]


async def test_agents_without_a_limit_are_claimed_before_older_runs_of_a_group(
    connection: AsyncConnection, user: int
) -> None:
    limited = await add_run(connection, user, agent="solo")
    free = await add_run(connection, user, agent="support")

    assert await claim_ids(connection, [SOLO], free=["support"], n=1) == [free]
    assert await claim_ids(connection, [SOLO], free=["support"], n=1) == [limited]


async def test_a_full_group_does_not_stop_the_claim_of_free_agents_and_other_groups(
    connection: AsyncConnection, user: int
) -> None:
    await add_running_run(connection, user, agent="solo")
    await add_run(connection, user, agent="solo")
    trio = await add_run(connection, user, agent="trio")
    free = await add_run(connection, user, agent="support")

    assert await claim_ids(connection, [SOLO, TRIO], free=["support"]) == [free, trio]


async def test_a_paused_run_holds_no_slot_of_its_group(connection: AsyncConnection, user: int) -> None:
    await add_paused_run(connection, user, agent="solo")
    waiting = await add_run(connection, user, agent="solo")

    assert await running_in_group(connection, SOLO) == 0
    assert await claim_ids(connection, [SOLO]) == [waiting]


async def test_running_in_group_counts_only_running_runs_of_the_group(connection: AsyncConnection, user: int) -> None:
    await add_running_run(connection, user, agent="left")
    await add_running_run(connection, user, agent="right")
    await add_running_run(connection, user, agent="support")  # not in the group
    await add_run(connection, user, agent="left")

    assert await running_in_group(connection, PAIR) == 2


async def test_busy_in_group_counts_queued_and_running_runs_but_not_paused_or_final_ones(
    connection: AsyncConnection, user: int
) -> None:
    await add_running_run(connection, user, agent="right")
    await add_paused_run(connection, user, agent="left")
    finished = await add_running_run(connection, user, agent="right")
    await transitions.settle(connection, run_id=finished, owner=OWNER, status=RunStatus.SUCCEEDED, usage=USAGE)
    await add_run(connection, user, agent="left")
    await add_run(connection, user, agent="support")  # not in the group

    assert await busy_in_group(connection, PAIR) == 2
