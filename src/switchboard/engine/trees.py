"""Trees of runs, after the fact: the children of a run that has ended, and what no worker holds to notice."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.typing import FilteringBoundLogger

from switchboard.engine import transitions
from switchboard.notifications.outbox import RunNotices

log = structlog.get_logger(__name__)


async def end_children(engine: AsyncEngine, run_id: uuid.UUID) -> None:
    """A run that ended otherwise than by succeeding may leave child runs working: cancel them, now that its end
    has committed (never in the same transaction: `engine.children`'s lock order). If this fails, the sweeper's
    `cancel_orphans` does it."""
    try:
        async with engine.begin() as connection:
            await transitions.cancel_descendants(connection, run_id, f"its parent run {run_id} ended")
    except Exception as exc:
        log.warning("run.children_not_cancelled", run_id=str(run_id), error=repr(exc)[:300])


async def sweep_trees(engine: AsyncEngine, notices: RunNotices, bound: FilteringBoundLogger) -> None:
    """What no worker holds to notice, for the sweeper: runs waiting for their children past their deadline,
    then children whose parent has finished. Each in a transaction of its own (a child's row before its
    parent's, never both ways in one)."""
    async with engine.begin() as connection:
        timed_out = await transitions.time_out_waiting(connection)
        await notices.record_runs(connection, timed_out)
    async with engine.begin() as connection:
        orphans = await transitions.cancel_orphans(connection)
    for run_id in timed_out:
        bound.warning("run.timed_out_waiting", run_id=str(run_id))
    if orphans:
        bound.info("run.orphans_cancelled", runs=orphans)
