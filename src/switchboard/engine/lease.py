"""The lease fence. A worker holds a run through a lease it renews; every write it makes to the run is
conditional on still holding it, so once the sweeper has handed the run to another worker the stale worker's
writes change nothing and raise `LeaseLost` (it then stops at once)."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from switchboard.models.runs import RunStatus

LEASED = f"lease_owner = :owner AND status = '{RunStatus.RUNNING}'"
"""The SQL condition every fenced write adds: the run is running under this worker's lease."""


class LeaseLost(Exception):
    """The run is no longer leased to this worker."""


_FENCE = text(f"UPDATE runs SET updated_at = now() WHERE id = :id AND {LEASED} RETURNING id")


async def fence(connection: AsyncConnection | AsyncSession, run_id: uuid.UUID, owner: str) -> None:
    """Hold the run's row until commit, and only while `owner` holds its lease: a tool call's effects commit
    with this, so they take effect exactly once even if the worker is replaced mid-call."""
    if (await connection.execute(_FENCE, {"id": run_id, "owner": owner})).first() is None:
        raise LeaseLost(str(run_id))
