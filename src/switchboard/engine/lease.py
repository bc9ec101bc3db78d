"""The lease. A worker holds a run through a lease it renews; every write it makes to the run is conditional on
still holding it, so once the sweeper has handed the run to another worker the stale worker's writes change
nothing and raise `LeaseLost` (it then stops at once). The status changes themselves are in `transitions`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from switchboard.models.runs import RunStatus

LEASED = f"lease_owner = :owner AND status = '{RunStatus.RUNNING}'"
"""The SQL condition every fenced write adds: the run is running under this worker's lease."""


class LeaseLost(Exception):
    """The run is no longer leased to this worker."""


_FENCE = text(f"UPDATE runs SET updated_at = now() WHERE id = :id AND {LEASED} RETURNING id")


async def fenced(
    connection: AsyncConnection | AsyncSession, statement: TextClause, run_id: uuid.UUID, **params: Any
) -> Row[Any]:
    """Execute a statement on the run that is conditioned on `LEASED` and returns a row when it changed it (that
    row); `LeaseLost` (and nothing changed) when it did not."""
    row = (await connection.execute(statement, {"id": run_id, **params})).first()
    if row is None:
        raise LeaseLost(str(run_id))
    return row


async def fence(connection: AsyncConnection | AsyncSession, run_id: uuid.UUID, owner: str) -> None:
    """Hold the run's row until commit, and only while `owner` holds its lease: a tool call's effects commit
    with this, so they take effect exactly once even if the worker is replaced mid-call."""
    await fenced(connection, _FENCE, run_id, owner=owner)


_RENEW = text(f"""
UPDATE runs SET lease_expires_at = now() + make_interval(secs => :lease)
WHERE id = ANY(CAST(:ids AS uuid[])) AND {LEASED}
RETURNING id, cancel_requested
""")


async def renew(
    connection: AsyncConnection, *, owner: str, run_ids: Sequence[uuid.UUID], lease_seconds: float
) -> dict[uuid.UUID, bool]:
    """Extend the leases `owner` still holds; returns {run_id: cancel_requested} for those. A run missing from
    the answer is no longer this worker's: it must stop writing at once."""
    rows = (await connection.execute(_RENEW, {"ids": list(run_ids), "owner": owner, "lease": lease_seconds})).all()
    return {row[0]: bool(row[1]) for row in rows}
