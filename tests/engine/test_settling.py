"""Engine level (statements on one rolled-back transaction, see conftest): how a worker gives a run up, under its
lease: `settle` (a final status with its `status` and `end` events), `pause` (awaiting approvals) and `release`
(back to the queue, the attempt not counted). What they do without the lease is in test_lease."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.engine import transitions
from switchboard.engine.journal import Event
from switchboard.models.runs import FINAL, RunStatus
from tests.engine.conftest import (
    OWNER,
    USAGE,
    StoredEvent,
    add_running_run,
    read_events,
    read_run,
    snapshot,
    transaction_now,
)

STEPS: list[Event] = [("text_delta", {"text": "Hel"}), ("text_delta", {"text": "lo"})]
ERROR = {"type": "model_error", "message": "The model 'offline' failed: boom"}


def after(first_seq: int, events: list[Event]) -> list[StoredEvent]:
    """`events` as stored, numbered from `first_seq`."""
    return [StoredEvent(first_seq + i, kind, data) for i, (kind, data) in enumerate(events)]


# --- settle ---


async def test_settle_succeeded_writes_output_usage_and_finished_at_and_clears_the_lease(
    connection: AsyncConnection, user: int
) -> None:
    run_id = await add_running_run(connection, user)

    await transitions.settle(
        connection, run_id=run_id, owner=OWNER, status=RunStatus.SUCCEEDED, output={"answer": 42}, usage=USAGE
    )

    run = await read_run(connection, run_id)
    assert run["status"] == RunStatus.SUCCEEDED
    assert run["output"] == {"answer": 42}
    assert run["error"] is None
    assert run["usage"] == USAGE
    assert run["finished_at"] == await transaction_now(connection)
    assert (run["lease_owner"], run["lease_expires_at"]) == (None, None)
    assert run["attempts"] == 1


async def test_settle_appends_the_given_events_then_status_then_end(connection: AsyncConnection, user: int) -> None:
    run_id = await add_running_run(connection, user)
    before = await read_events(connection, run_id)

    await transitions.settle(
        connection, run_id=run_id, owner=OWNER, status=RunStatus.SUCCEEDED, output="Hello", usage=USAGE, events=STEPS
    )

    end = {"status": RunStatus.SUCCEEDED, "output": "Hello", "error": None, "usage": USAGE}
    expected: list[Event] = [*STEPS, ("status", {"status": RunStatus.SUCCEEDED}), ("end", end)]
    assert await read_events(connection, run_id) == before + after(len(before) + 1, expected)
    assert (await read_run(connection, run_id))["event_seq"] == len(before) + len(expected)


async def test_settle_failed_stores_the_error_on_the_run_and_in_its_status_and_end_events(
    connection: AsyncConnection, user: int
) -> None:
    run_id = await add_running_run(connection, user)

    await transitions.settle(connection, run_id=run_id, owner=OWNER, status=RunStatus.FAILED, error=ERROR, usage={})

    run = await read_run(connection, run_id)
    assert (run["status"], run["error"], run["output"]) == (RunStatus.FAILED, ERROR, None)
    status, end = (await read_events(connection, run_id))[-2:]
    assert (status.type, status.data) == ("status", {"status": RunStatus.FAILED, "error": ERROR})
    assert (end.type, end.data) == ("end", {"status": RunStatus.FAILED, "output": None, "error": ERROR, "usage": {}})


@pytest.mark.parametrize("status", sorted(FINAL))
async def test_settle_writes_each_final_status(connection: AsyncConnection, user: int, status: RunStatus) -> None:
    run_id = await add_running_run(connection, user)

    await transitions.settle(connection, run_id=run_id, owner=OWNER, status=status, usage=USAGE)

    assert (await read_run(connection, run_id))["status"] == status
    assert [e.type for e in await read_events(connection, run_id)][-2:] == ["status", "end"]


@pytest.mark.parametrize("status", [s for s in RunStatus if s not in FINAL])
async def test_settle_refuses_a_status_that_is_not_final_and_changes_nothing(
    connection: AsyncConnection, user: int, status: RunStatus
) -> None:
    run_id = await add_running_run(connection, user)
    before = await snapshot(connection, run_id)

    with pytest.raises(ValueError, match="not a final status"):
        await transitions.settle(connection, run_id=run_id, owner=OWNER, status=status, usage=USAGE)

    assert await snapshot(connection, run_id) == before


# --- pause ---


async def test_pause_awaits_approval_with_the_lease_given_up_and_no_end(connection: AsyncConnection, user: int) -> None:
    run_id = await add_running_run(connection, user)
    before = await read_events(connection, run_id)

    await transitions.pause(connection, run_id=run_id, owner=OWNER, usage=USAGE, events=STEPS)

    run = await read_run(connection, run_id)
    assert run["status"] == RunStatus.REQUIRES_ACTION
    assert run["usage"] == USAGE
    assert (run["lease_owner"], run["lease_expires_at"], run["finished_at"]) == (None, None, None)
    assert run["attempts"] == 1
    expected: list[Event] = [*STEPS, ("status", {"status": RunStatus.REQUIRES_ACTION})]
    assert await read_events(connection, run_id) == before + after(len(before) + 1, expected)


# --- release ---


async def test_release_requeues_the_run_without_counting_the_attempt(connection: AsyncConnection, user: int) -> None:
    run_id = await add_running_run(connection, user)
    before = await read_events(connection, run_id)

    await transitions.release(connection, run_id=run_id, owner=OWNER, reason="worker_shutdown", events=STEPS[:1])

    run = await read_run(connection, run_id)
    assert run["status"] == RunStatus.QUEUED
    assert run["attempts"] == 0
    assert (run["lease_owner"], run["lease_expires_at"], run["finished_at"]) == (None, None, None)
    expected: list[Event] = [*STEPS[:1], ("status", {"status": RunStatus.QUEUED, "reason": "worker_shutdown"})]
    assert await read_events(connection, run_id) == before + after(len(before) + 1, expected)
