"""Following a run from any server process: its events after a given number, then the live tail; or just
waiting until it settles. NOTIFY only wakes the reader; events are always read from the database, so a
reconnecting client gets exactly the events after the one it saw: no gap, no duplicate."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.engine.channels import RUN_EVENTS, RUN_SETTLED
from switchboard.engine.local import SettledRow
from switchboard.kit.notify import Notifier
from switchboard.models import Run, RunEvent
from switchboard.models.runs import FINAL, SETTLED

# A safety net only: a reader also re-reads this often without a notification (e.g. one lost to a reconnect).
REREAD_SECONDS = 5.0
PAGE = 500


async def follow(
    sessions: async_sessionmaker[AsyncSession],
    notifier: Notifier,
    run_id: uuid.UUID,
    after: int = 0,
    stop: asyncio.Event | None = None,
) -> AsyncIterator[RunEvent]:
    """Yield the run's events numbered above `after`, live, until (and including) its `end` event, or until
    `stop` is set (the server shutting down: the stream ends cleanly, and the client resumes elsewhere with
    Last-Event-ID)."""
    stopping = stop or asyncio.Event()
    async with notifier.subscribe(RUN_EVENTS, str(run_id)) as woken:
        while not stopping.is_set():
            woken.clear()
            async with sessions() as session:
                events = list(
                    await session.scalars(
                        select(RunEvent)
                        .where(RunEvent.run_id == run_id, RunEvent.seq > after)
                        .order_by(RunEvent.seq)
                        .limit(PAGE)
                    )
                )
                if not events:
                    # A client resuming at or past the run's `end`: nothing more will ever come. (The final status
                    # and the `end` event are written in one transaction, so this cannot close a stream early.)
                    run = await session.get(Run, run_id)
                    if run is None or (run.status in FINAL and run.event_seq <= after):
                        return
            for event in events:
                yield event
                after = event.seq
                if event.type == "end":
                    return
            if len(events) == PAGE:
                continue
            await _first(woken, stopping, seconds=REREAD_SECONDS)


async def wait_until_settled(
    sessions: async_sessionmaker[AsyncSession],
    notifier: Notifier,
    run_id: uuid.UUID,
    wait_seconds: float,
    interrupted: asyncio.Event | None = None,
    settled_here: asyncio.Future[SettledRow] | None = None,
) -> SettledRow:
    """Until the run is finished or needs approval, `wait_seconds` run out or `interrupted` is set. A run this
    process executes (`settled_here`) is waited for in memory: its final row is returned, or None when it paused
    or left this process (given back at shutdown, lease lost): read it then."""
    deadline = time.monotonic() + wait_seconds
    stop = interrupted or asyncio.Event()
    if settled_here is not None:
        # Its worker completes the future whatever happens to the run (see `Worker._execute`): no need to listen.
        await _first(stop, seconds=wait_seconds, also=settled_here)
        if settled_here.done() and (row := settled_here.result()) is not None:
            return row
    # Woken when the run settles, not by each of its events: a streaming run appends many (see `RUN_SETTLED`).
    async with notifier.subscribe(RUN_SETTLED, str(run_id)) as woken:
        while True:
            woken.clear()
            async with sessions() as session:
                status = await session.scalar(select(Run.status).where(Run.id == run_id))
            remaining = deadline - time.monotonic()
            if status is None or status in SETTLED or remaining <= 0 or stop.is_set():
                return None
            await _first(woken, stop, seconds=min(remaining, REREAD_SECONDS))


async def _first(*events: asyncio.Event, seconds: float, also: asyncio.Future[Any] | None = None) -> None:
    """Until one of `events` is set (or `also` is done), or `seconds` have passed."""
    waits: set[asyncio.Future[Any]] = {asyncio.create_task(event.wait()) for event in events}
    if also is not None:
        waits.add(also)
    _, pending = await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        if task is not also:
            task.cancel()
