"""Every way into a final status is counted (`switchboard_runs_settled_total`, `switchboard_run_duration_seconds`):
the engine's statements, run on one rolled-back transaction (the engine tests' fixtures), read from the process's
registry before and after. (A worker settling a run, over HTTP, is in test_metrics.)"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.engine import transitions
from switchboard.models.runs import RunStatus
from tests.engine import conftest as engine_fixtures
from tests.engine.conftest import AGENT, add_run, add_run_in, add_running_run, lapse_lease
from tests.observability.metrics_scrape import registry_value

# The engine tests' database and rolled-back connection, for these tests too.
engine_database_url = engine_fixtures.engine_database_url
engine = engine_fixtures.engine
connection = engine_fixtures.connection
user = engine_fixtures.user


async def lapsed_run(connection: AsyncConnection, user: int) -> uuid.UUID:
    """A run claimed once, whose lease has lapsed (its worker stopped)."""
    run_id = await add_running_run(connection, user)
    await lapse_lease(connection, run_id)
    return run_id


def settled(status: str) -> tuple[float, float]:
    labels = {"agent": AGENT, "status": status}
    return (
        registry_value("switchboard_runs_settled_total", labels),
        registry_value("switchboard_run_duration_seconds_count", labels),
    )


async def test_cancelling_a_queued_run_counts_it_cancelled(connection: AsyncConnection, user: int) -> None:
    run_id = await add_run(connection, user)
    before = settled("cancelled")
    assert await transitions.cancel_now(connection, run_id, "test")
    assert settled("cancelled") == (before[0] + 1, before[1] + 1)


async def test_a_waiting_run_past_its_deadline_counts_timed_out(connection: AsyncConnection, user: int) -> None:
    run_id = await add_run_in(connection, user, RunStatus.WAITING)
    await connection.execute(
        text(
            "UPDATE runs SET limits = '{\"timeout_seconds\": 1}', started_at = now() - interval '1 minute' "
            "WHERE id = :id"
        ),
        {"id": run_id},
    )
    before = settled("timed_out")
    assert await transitions.time_out_waiting(connection) == [run_id]
    assert settled("timed_out") == (before[0] + 1, before[1] + 1)


async def test_the_sweeper_giving_up_counts_failed_and_a_requeue_counts_nothing(
    connection: AsyncConnection, user: int
) -> None:
    run_id = await lapsed_run(connection, user)
    before = settled("failed")
    assert await transitions.sweep(connection, max_attempts=1) == [(run_id, RunStatus.FAILED)]
    assert settled("failed") == (before[0] + 1, before[1] + 1)
    requeued = await lapsed_run(connection, user)
    assert await transitions.sweep(connection, max_attempts=5) == [(requeued, RunStatus.QUEUED)]
    assert settled("failed") == (before[0] + 1, before[1] + 1)
