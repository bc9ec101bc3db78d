"""Runs a process both accepts and executes. When the process that creates a run has a free worker slot, it
claims the run in the creating transaction (`queue.ClaimNow`) and hands it to its own worker: no NOTIFY to
the queue, no claim statement. A request waiting for such a run is handed the run's final row by the worker
that settled it, in memory, instead of waking on NOTIFY and reading the run back.

Nothing else changes: the run is leased, fenced and written like any other, its events are stored and announced
for every other reader, and if the process dies the lease lapses and the run goes back to the queue.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

SettledRow = dict[str, Any] | None
"""A settled run's row (its columns by name), or None: it paused, read it from the database."""


class SettledHere:
    """Requests waiting in this process for runs this process executes."""

    def __init__(self) -> None:
        self._waiting: dict[uuid.UUID, asyncio.Future[SettledRow]] = {}

    def expect(self, run_id: uuid.UUID) -> asyncio.Future[SettledRow]:
        """Before the run is handed to the worker: a future it completes when the run settles here."""
        future = self._waiting.get(run_id)
        if future is None:
            future = self._waiting[run_id] = asyncio.get_running_loop().create_future()
        return future

    def publish(self, run_id: uuid.UUID, row: SettledRow) -> None:
        """Called once the run's final transaction has committed; or with None when the run paused, or left this
        process without settling (given back, lease lost): its waiter reads it from the database then."""
        future = self._waiting.pop(run_id, None)
        if future is not None and not future.done():
            future.set_result(row)
