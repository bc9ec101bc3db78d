"""Events produced while a run executes, written in small batches.

Text deltas arrive many per second from a streaming model; writing each in its own transaction would make the
database the bottleneck. Each stays its own numbered event, but they are buffered for at most `interval` seconds
and written together, with one NOTIFY, so a client sees text within ~50 ms. Everything else (messages, tool calls,
status changes) is written when the step that produced it is persisted, in the same transaction.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from switchboard.engine import journal
from switchboard.kit.db import database_unavailable

log = structlog.get_logger(__name__)

Extra = Callable[[AsyncConnection], Awaitable[None]]


class EventBuffer:
    def __init__(
        self,
        engine: AsyncEngine,
        run_id: uuid.UUID,
        owner: str,
        on_cancel_requested: Callable[[], None],
        interval: float = 0.05,
    ) -> None:
        self.engine = engine
        self.run_id = run_id
        self.owner = owner
        self.interval = interval
        self._on_cancel_requested = on_cancel_requested
        self._pending: list[journal.Event] = []
        self._lock = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._background: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None

    def add(self, kind: str, data: dict[str, Any]) -> None:
        self._pending.append((kind, data))
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.interval, self._flush_in_background)

    def _flush_in_background(self) -> None:
        self._timer = None
        if self._background is None or self._background.done():
            self._background = asyncio.create_task(self._background_flush())

    async def _background_flush(self) -> None:
        try:
            await self.flush()
        except Exception as exc:
            if not database_unavailable(exc):  # LeaseLost, or a bug: kept and re-raised by the next flush
                self._failure = exc
            # An outage: the events are pending again, and the next flush (timed or not) writes them.

    async def flush(self, extra: Extra | None = None, closing: list[journal.Event] | None = None) -> None:
        """Write pending events (then `closing`), plus `extra` writes, in one fenced transaction. If it fails,
        the pending events stay pending (in order, ahead of any added meanwhile): none is lost."""
        self._raise_failure()
        async with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            pending, self._pending = self._pending, []
            events = pending + (closing or [])
            if not events and extra is None:
                return
            try:
                async with self.engine.begin() as connection:
                    if extra is not None:
                        await extra(connection)
                    appended = await journal.append(connection, self.run_id, events, owner=self.owner)
            except BaseException:
                self._pending = pending + self._pending
                raise
        if appended.cancel_requested:
            self._on_cancel_requested()

    async def take(self) -> list[journal.Event]:
        """`discard`, once a background flush in flight has finished: the run's final transaction must come
        after it (the other way round, that flush's events would find the lease gone and be lost)."""
        async with self._lock:
            return self.discard()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    def discard(self) -> list[journal.Event]:
        """Stop the timer and hand back what was not written (for the run's final transaction)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        events, self._pending = self._pending, []
        return events
