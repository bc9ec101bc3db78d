"""The sweeper's part for trees of runs: what no worker holds to notice."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.typing import FilteringBoundLogger

from switchboard.engine import transitions
from switchboard.notifications.outbox import RunNotices


async def sweep_trees(engine: AsyncEngine, notices: RunNotices, log: FilteringBoundLogger) -> None:
    """What no worker holds to notice, for the sweeper: runs waiting for their children past their deadline,
    then children whose parent has finished. Each in a transaction of its own (a child's row before its
    parent's, never both ways in one)."""
    async with engine.begin() as connection:
        timed_out = await transitions.time_out_waiting(connection)
        await notices.record_runs(connection, timed_out)
    async with engine.begin() as connection:
        orphans = await transitions.cancel_orphans(connection)
    for run_id in timed_out:
        log.warning("run.timed_out_waiting", run_id=str(run_id))
    if orphans:
        log.info("run.orphans_cancelled", runs=orphans)
