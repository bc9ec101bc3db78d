"""Cancelling one run, decided on its status as locked now (`RunService.cancel_with_children` cancels a run and
then its children; a new run with multitask strategy `interrupt` cancels the runs on its thread)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.engine import children, transitions
from switchboard.models.runs import PAUSED, RunStatus
from switchboard.notifications.outbox import RunNotices
from switchboard.settings import Settings


async def cancel_locked(
    connection: AsyncConnection, settings: Settings, run_id: uuid.UUID, *, reason: str
) -> RunStatus | None:
    """Decided on the run's status as locked now: queued or paused, cancelled now; running, flagged, and its
    worker stops it between steps or mid-stream (and spawns no more children). Returns that status."""
    status = await children.lock_status(connection, run_id)
    if status == RunStatus.RUNNING:
        await transitions.request_cancel(connection, run_id, reason)
    elif status in (RunStatus.QUEUED, *PAUSED) and await transitions.cancel_now(connection, run_id, reason):
        await RunNotices(settings).record_runs(connection, [run_id])
    return status
