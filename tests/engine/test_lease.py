"""Engine level (statements on one rolled-back transaction, see conftest): the lease fence. Every write a worker
makes to a run (`settle`, `pause`, `release`, a fenced `journal.append`, `lease.fence`) happens only while the run
is running under that worker's lease; otherwise it raises `LeaseLost` and changes nothing. `renew` extends only
the leases the worker still holds."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.engine import journal, lease, transitions
from switchboard.engine.lease import LeaseLost
from switchboard.models.runs import RunStatus
from tests.engine.conftest import (
    OTHER_OWNER,
    OWNER,
    USAGE,
    add_run,
    add_run_in,
    add_running_run,
    claim,
    lapse_lease,
    read_events,
    read_run,
    snapshot,
    transaction_now,
)

Write = Callable[[AsyncConnection, uuid.UUID, str], Awaitable[Any]]


async def settle(connection: AsyncConnection, run_id: uuid.UUID, owner: str) -> None:
    await transitions.settle(
        connection, run_id=run_id, owner=owner, status=RunStatus.SUCCEEDED, output="done", usage=USAGE
    )


async def pause(connection: AsyncConnection, run_id: uuid.UUID, owner: str) -> None:
    await transitions.pause(connection, run_id=run_id, owner=owner, usage=USAGE, events=[("step", {"n": 1})])


async def release(connection: AsyncConnection, run_id: uuid.UUID, owner: str) -> None:
    await transitions.release(connection, run_id=run_id, owner=owner, reason="shutdown")


async def append(connection: AsyncConnection, run_id: uuid.UUID, owner: str) -> journal.Appended:
    return await journal.append(connection, run_id, [("text_delta", {"text": "hi"})], owner=owner)


async def fence(connection: AsyncConnection, run_id: uuid.UUID, owner: str) -> None:
    await lease.fence(connection, run_id, owner)


WRITES: dict[str, Write] = {"settle": settle, "pause": pause, "release": release, "append": append, "fence": fence}


async def held_by_another_worker(connection: AsyncConnection, user: int) -> uuid.UUID:
    return await add_running_run(connection, user, owner=OTHER_OWNER)


async def swept_and_claimed_by_another_worker(connection: AsyncConnection, user: int) -> uuid.UUID:
    run_id = await add_running_run(connection, user)
    await lapse_lease(connection, run_id)
    assert await transitions.sweep(connection, max_attempts=3) == [(run_id, RunStatus.QUEUED)]
    assert [c.run_id for c in await claim(connection, owner=OTHER_OWNER)] == [run_id]
    return run_id


async def paused_by_this_worker(connection: AsyncConnection, user: int) -> uuid.UUID:
    run_id = await add_running_run(connection, user)
    await pause(connection, run_id, OWNER)
    return run_id


async def settled_by_this_worker(connection: AsyncConnection, user: int) -> uuid.UUID:
    run_id = await add_running_run(connection, user)
    await settle(connection, run_id, OWNER)
    return run_id


async def never_claimed(connection: AsyncConnection, user: int) -> uuid.UUID:
    return await add_run(connection, user)


LOST: dict[str, Callable[[AsyncConnection, int], Awaitable[uuid.UUID]]] = {
    "held_by_another_worker": held_by_another_worker,
    "swept_and_claimed_by_another_worker": swept_and_claimed_by_another_worker,
    "paused_by_this_worker": paused_by_this_worker,
    "settled_by_this_worker": settled_by_this_worker,
    "never_claimed": never_claimed,
}


@pytest.mark.parametrize("write", list(WRITES))
@pytest.mark.parametrize("lost", list(LOST))
async def test_a_write_without_the_lease_raises_lease_lost_and_changes_nothing(
    connection: AsyncConnection, user: int, write: str, lost: str
) -> None:
    run_id = await LOST[lost](connection, user)
    before = await snapshot(connection, run_id)

    with pytest.raises(LeaseLost, match=str(run_id)):
        await WRITES[write](connection, run_id, OWNER)

    assert await snapshot(connection, run_id) == before


@pytest.mark.parametrize("write", list(WRITES))
@pytest.mark.parametrize("status", [RunStatus.REQUIRES_ACTION, RunStatus.SUCCEEDED])
async def test_the_fence_checks_the_status_too_not_only_the_owner(
    connection: AsyncConnection, user: int, write: str, status: RunStatus
) -> None:
    # every statement clears the owner when a run stops running: stamp it back to isolate the status condition
    run_id = await add_run_in(connection, user, status)
    stamp = text("UPDATE runs SET lease_owner = :owner WHERE id = :id")
    await connection.execute(stamp, {"owner": OWNER, "id": run_id})
    before = await snapshot(connection, run_id)

    with pytest.raises(LeaseLost):
        await WRITES[write](connection, run_id, OWNER)

    assert await snapshot(connection, run_id) == before


# what each write does with the lease held: the run's status after it, and how many events it appends
UNDER_LEASE: dict[str, tuple[RunStatus, int]] = {
    "settle": (RunStatus.SUCCEEDED, 2),
    "pause": (RunStatus.REQUIRES_ACTION, 2),
    "release": (RunStatus.QUEUED, 1),
    "append": (RunStatus.RUNNING, 1),
    "fence": (RunStatus.RUNNING, 0),
}


@pytest.mark.parametrize("write", list(WRITES))
async def test_the_same_write_under_the_lease_goes_through(connection: AsyncConnection, user: int, write: str) -> None:
    run_id = await add_running_run(connection, user)
    events_before = len(await read_events(connection, run_id))

    await WRITES[write](connection, run_id, OWNER)

    status, appended = UNDER_LEASE[write]
    assert (await read_run(connection, run_id))["status"] == status
    assert len(await read_events(connection, run_id)) == events_before + appended


async def test_a_fenced_append_numbers_its_events_after_the_last_and_reports_cancel_requested(
    connection: AsyncConnection, user: int
) -> None:
    run_id = await add_running_run(connection, user)
    assert await transitions.request_cancel(connection, run_id, "user")

    appended = await journal.append(connection, run_id, [("a", {"n": 1}), ("b", {"n": 2})], owner=OWNER)

    assert appended == journal.Appended(last_seq=5, cancel_requested=True)
    events = await read_events(connection, run_id)
    assert [(e.seq, e.type, e.data) for e in events[-2:]] == [(4, "a", {"n": 1}), (5, "b", {"n": 2})]


async def test_an_unfenced_append_to_a_missing_run_raises_lookup_error(connection: AsyncConnection) -> None:
    with pytest.raises(LookupError):
        await journal.append(connection, uuid.uuid4(), [("status", {})])


# --- renew ---


async def test_renew_extends_only_the_leases_the_owner_holds(connection: AsyncConnection, user: int) -> None:
    mine = [await add_running_run(connection, user) for _ in range(2)]
    theirs = await add_running_run(connection, user, owner=OTHER_OWNER)
    paused = await paused_by_this_worker(connection, user)
    lapsed = await swept_and_claimed_by_another_worker(connection, user)
    untouched = {
        run_id: (await read_run(connection, run_id))["lease_expires_at"] for run_id in (theirs, paused, lapsed)
    }

    renewed = await lease.renew(connection, owner=OWNER, run_ids=[*mine, theirs, paused, lapsed], lease_seconds=600)

    assert renewed == {mine[0]: False, mine[1]: False}
    expected = await transaction_now(connection) + timedelta(seconds=600)
    for run_id in mine:
        assert (await read_run(connection, run_id))["lease_expires_at"] == expected
    for run_id, expires_at in untouched.items():
        assert (await read_run(connection, run_id))["lease_expires_at"] == expires_at


async def test_renew_reports_which_runs_have_a_cancel_requested(connection: AsyncConnection, user: int) -> None:
    cancelled, carrying_on = [await add_running_run(connection, user) for _ in range(2)]
    assert await transitions.request_cancel(connection, cancelled, "user")

    renewed = await lease.renew(connection, owner=OWNER, run_ids=[cancelled, carrying_on], lease_seconds=60)

    assert renewed == {cancelled: True, carrying_on: False}
