"""Engine level (statements on one rolled-back transaction, see conftest): the statements the API calls on a run
no worker holds: `requeue_approved` (a paused run back to the queue once its approvals are decided),
`request_cancel` (flag a running run for its worker) and `cancel_now` (cancel a queued or paused run at once).
Each says False and changes nothing for a run in any other status."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.engine import transitions
from switchboard.models.runs import PAUSED, RunStatus
from tests.engine.conftest import (
    OWNER,
    StoredEvent,
    add_paused_run,
    add_run,
    add_run_in,
    add_running_run,
    claim,
    read_events,
    read_run,
    snapshot,
    transaction_now,
)

DECISION = ("approval", {"tool_call_id": "call-1", "approved": True})


# --- requeue_approved ---


async def test_requeue_approved_puts_a_paused_run_back_in_the_queue_without_counting_the_attempt(
    connection: AsyncConnection, user: int
) -> None:
    run_id = await add_paused_run(connection, user)
    before = await read_events(connection, run_id)

    assert await transitions.requeue_approved(connection, run_id, [DECISION]) is True

    run = await read_run(connection, run_id)
    assert run["status"] == RunStatus.QUEUED
    assert run["attempts"] == 0
    seq = len(before)
    assert await read_events(connection, run_id) == [
        *before,
        StoredEvent(seq + 1, *DECISION),
        StoredEvent(seq + 2, "status", {"status": RunStatus.QUEUED, "reason": "approvals_decided"}),
    ]


async def test_a_requeued_run_is_claimed_again_as_the_same_attempt(connection: AsyncConnection, user: int) -> None:
    run_id = await add_paused_run(connection, user)
    assert await transitions.requeue_approved(connection, run_id, [])

    assert [(c.run_id, c.attempt) for c in await claim(connection)] == [(run_id, 1)]


@pytest.mark.parametrize("status", [s for s in RunStatus if s != RunStatus.REQUIRES_ACTION])
async def test_requeue_approved_of_a_run_that_is_not_paused_is_false_and_changes_nothing(
    connection: AsyncConnection, user: int, status: RunStatus
) -> None:
    run_id = await add_run_in(connection, user, status)
    before = await snapshot(connection, run_id)

    assert await transitions.requeue_approved(connection, run_id, [DECISION]) is False

    assert await snapshot(connection, run_id) == before


# --- request_cancel ---


async def test_request_cancel_flags_a_running_run_and_tells_its_stream(connection: AsyncConnection, user: int) -> None:
    run_id = await add_running_run(connection, user)
    before = await read_events(connection, run_id)

    assert await transitions.request_cancel(connection, run_id, "user_request") is True

    run = await read_run(connection, run_id)
    assert (run["status"], run["cancel_requested"], run["lease_owner"]) == (RunStatus.RUNNING, True, OWNER)
    assert run["finished_at"] is None
    assert await read_events(connection, run_id) == [
        *before,
        StoredEvent(len(before) + 1, "cancel_requested", {"reason": "user_request"}),
    ]


@pytest.mark.parametrize("status", [s for s in RunStatus if s != RunStatus.RUNNING])
async def test_request_cancel_of_a_run_that_is_not_running_is_false_and_changes_nothing(
    connection: AsyncConnection, user: int, status: RunStatus
) -> None:
    run_id = await add_run_in(connection, user, status)
    before = await snapshot(connection, run_id)

    assert await transitions.request_cancel(connection, run_id, "user_request") is False

    assert await snapshot(connection, run_id) == before


# --- cancel_now ---


@pytest.mark.parametrize("status", [RunStatus.QUEUED, RunStatus.REQUIRES_ACTION, RunStatus.WAITING])
async def test_cancel_now_cancels_a_run_no_worker_holds_with_its_status_and_end_events(
    connection: AsyncConnection, user: int, status: RunStatus
) -> None:
    run_id = await add_run_in(connection, user, status)
    before = await read_events(connection, run_id)

    assert await transitions.cancel_now(connection, run_id, "user_request") is True

    run = await read_run(connection, run_id)
    assert (run["status"], run["cancel_requested"]) == (RunStatus.CANCELLED, True)
    assert run["finished_at"] == await transaction_now(connection)
    data = {"status": RunStatus.CANCELLED, "reason": "user_request"}
    assert await read_events(connection, run_id) == [
        *before,
        StoredEvent(len(before) + 1, "status", data),
        StoredEvent(len(before) + 2, "end", {**data, "output": None, "error": None}),
    ]


async def test_a_cancelled_queued_run_frees_its_thread_for_the_next_run(connection: AsyncConnection, user: int) -> None:
    first = await add_run(connection, user)
    thread = (await read_run(connection, first))["thread_id"]
    second = await add_run(connection, user, thread)
    assert await transitions.cancel_now(connection, first, "user_request")

    assert [c.run_id for c in await claim(connection)] == [second]


@pytest.mark.parametrize("status", [s for s in RunStatus if s not in (RunStatus.QUEUED, *PAUSED)])
async def test_cancel_now_of_a_run_a_worker_holds_or_that_is_final_is_false_and_changes_nothing(
    connection: AsyncConnection, user: int, status: RunStatus
) -> None:
    run_id = await add_run_in(connection, user, status)
    before = await snapshot(connection, run_id)

    assert await transitions.cancel_now(connection, run_id, "user_request") is False

    assert await snapshot(connection, run_id) == before
