"""Engine level (statements on one rolled-back transaction, see conftest): `enqueue`, the create statement."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.models.runs import RunStatus
from tests.engine.conftest import AGENT, add_run, read_events, read_run


async def test_enqueue_queues_the_run_with_one_status_event_numbered_1(connection: AsyncConnection, user: int) -> None:
    run_id = await add_run(connection, user)

    run = await read_run(connection, run_id)
    assert run["status"] == RunStatus.QUEUED
    assert run["event_seq"] == 1
    assert run["attempts"] == 0
    assert run["lease_owner"] is None
    events = await read_events(connection, run_id)
    assert [(e.seq, e.type) for e in events] == [(1, "status")]
    assert events[0].data == {
        "status": RunStatus.QUEUED,
        "run_id": str(run_id),
        "thread_id": str(run["thread_id"]),
        "agent": AGENT,
    }
