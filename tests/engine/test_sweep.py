"""Engine level (statements on one rolled-back transaction, see conftest): `sweep`, which takes back the runs whose
lease lapsed: to the queue (the attempt counted), failed once `max_attempts` claims have lapsed, or cancelled if a
cancel was requested meanwhile. A lease is made to lapse by moving `lease_expires_at` before the transaction's
`now()`. Nothing else is committed in this database, so the whole list sweep returns is asserted."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.engine import transitions
from switchboard.models.runs import RunStatus
from tests.engine.conftest import (
    StoredEvent,
    add_paused_run,
    add_run,
    add_running_run,
    claim,
    lapse_lease,
    read_events,
    read_run,
    snapshot,
    transaction_now,
)


async def lapsed_run(connection: AsyncConnection, user: int, attempts: int = 1) -> uuid.UUID:
    """A running run on its `attempts`-th claim whose lease has lapsed (the earlier claims lapsed and were swept)."""
    run_id = await add_running_run(connection, user)
    for _ in range(attempts - 1):
        await lapse_lease(connection, run_id)
        assert await transitions.sweep(connection, max_attempts=attempts) == [(run_id, RunStatus.QUEUED)]
        assert [c.run_id for c in await claim(connection)] == [run_id]
    await lapse_lease(connection, run_id)
    return run_id


async def test_a_lapsed_run_below_max_attempts_goes_back_to_the_queue_with_the_attempt_counted(
    connection: AsyncConnection, user: int
) -> None:
    run_id = await lapsed_run(connection, user)
    before = await read_events(connection, run_id)

    swept = await transitions.sweep(connection, max_attempts=3)

    assert swept == [(run_id, RunStatus.QUEUED)]
    assert isinstance(swept[0][1], RunStatus)
    run = await read_run(connection, run_id)
    assert (run["status"], run["attempts"]) == (RunStatus.QUEUED, 1)
    assert (run["lease_owner"], run["lease_expires_at"], run["finished_at"], run["error"]) == (None, None, None, None)
    queued = {"status": RunStatus.QUEUED, "reason": "lease_expired", "attempts": 1}
    assert await read_events(connection, run_id) == [*before, StoredEvent(len(before) + 1, "status", queued)]


async def test_a_swept_run_is_claimed_again_as_its_next_attempt(connection: AsyncConnection, user: int) -> None:
    run_id = await lapsed_run(connection, user)
    await transitions.sweep(connection, max_attempts=3)

    assert [(c.run_id, c.attempt) for c in await claim(connection)] == [(run_id, 2)]


async def test_a_run_whose_lease_lapsed_on_its_last_attempt_fails_with_max_attempts_exceeded(
    connection: AsyncConnection, user: int
) -> None:
    run_id = await lapsed_run(connection, user, attempts=2)
    before = await read_events(connection, run_id)

    assert await transitions.sweep(connection, max_attempts=2) == [(run_id, RunStatus.FAILED)]

    error = {
        "type": "max_attempts_exceeded",
        "message": "The run's worker stopped responding (its lease lapsed) on attempt 2 of 2; giving up "
        "(SWITCHBOARD_RUN_MAX_ATTEMPTS=2).",
    }
    run = await read_run(connection, run_id)
    assert (run["status"], run["attempts"], run["error"]) == (RunStatus.FAILED, 2, error)
    assert run["finished_at"] == await transaction_now(connection)
    assert (run["lease_owner"], run["lease_expires_at"]) == (None, None)
    data = {"status": RunStatus.FAILED, "error": error}
    seq = len(before)
    assert await read_events(connection, run_id) == [
        *before,
        StoredEvent(seq + 1, "status", data),
        StoredEvent(seq + 2, "end", data),
    ]


async def test_a_lapsed_run_with_a_cancel_requested_is_cancelled_even_on_its_last_attempt(
    connection: AsyncConnection, user: int
) -> None:
    run_id = await lapsed_run(connection, user)
    assert await transitions.request_cancel(connection, run_id, "user_request")
    before = await read_events(connection, run_id)

    assert await transitions.sweep(connection, max_attempts=1) == [(run_id, RunStatus.CANCELLED)]

    run = await read_run(connection, run_id)
    assert (run["status"], run["error"]) == (RunStatus.CANCELLED, None)
    assert run["finished_at"] == await transaction_now(connection)
    assert (run["lease_owner"], run["lease_expires_at"]) == (None, None)
    data = {"status": RunStatus.CANCELLED, "error": None}
    seq = len(before)
    assert await read_events(connection, run_id) == [
        *before,
        StoredEvent(seq + 1, "status", data),
        StoredEvent(seq + 2, "end", data),
    ]


async def test_sweep_leaves_runs_with_a_live_lease_and_runs_no_worker_holds_untouched(
    connection: AsyncConnection, user: int
) -> None:
    running = await add_running_run(connection, user)
    paused = await add_paused_run(connection, user)
    queued = await add_run(connection, user)
    before = {run_id: await snapshot(connection, run_id) for run_id in (running, paused, queued)}

    assert await transitions.sweep(connection, max_attempts=1) == []

    assert {run_id: await snapshot(connection, run_id) for run_id in before} == before


async def test_sweep_returns_exactly_the_lapsed_runs_each_with_its_new_status(
    connection: AsyncConnection, user: int
) -> None:
    live = await add_running_run(connection, user)
    failed = await lapsed_run(connection, user, attempts=2)  # first: its earlier lapse is swept on the way
    requeued = await lapsed_run(connection, user, attempts=1)
    cancelled = await lapsed_run(connection, user, attempts=1)
    assert await transitions.request_cancel(connection, cancelled, "user_request")
    live_before = await snapshot(connection, live)

    swept = await transitions.sweep(connection, max_attempts=2)

    assert sorted(swept) == sorted(
        [(requeued, RunStatus.QUEUED), (failed, RunStatus.FAILED), (cancelled, RunStatus.CANCELLED)]
    )
    assert await snapshot(connection, live) == live_before
    assert await transitions.sweep(connection, max_attempts=2) == []
