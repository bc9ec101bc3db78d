"""The scheduler loop every worker process runs (`background.BackgroundLoops`): fires due schedules
(`schedules.firing`), then sleeps until the earliest next tick, at most `MAX_SLEEP_SECONDS`, woken early by
`SCHEDULES_CHANGED` (a schedule created, changed or resumed anywhere). Several processes share the work through
`SKIP LOCKED`; the bounded sleep is what catches a tick whose notification was lost."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.agents.registry import AgentRegistry
from switchboard.engine.channels import SCHEDULES_CHANGED
from switchboard.kit.clock import utc_now
from switchboard.kit.db import database_unavailable, make_sessionmaker
from switchboard.kit.notify import Notifier
from switchboard.models.automation import Schedule
from switchboard.schedules.firing import BATCH, fire_due
from switchboard.settings import Settings

log = structlog.get_logger(__name__)

MAX_SLEEP_SECONDS = 5.0
RETRY_SECONDS = 1.0  # after a failed tick (the database away)


class Scheduler:
    def __init__(self, engine: AsyncEngine, agents: AgentRegistry, settings: Settings, notifier: Notifier) -> None:
        self.sessions = make_sessionmaker(engine)
        self.agents = agents
        self.settings = settings
        self.notifier = notifier
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._outage = False  # one log line per database outage, not one per retry

    async def start(self) -> None:
        self.notifier.on(SCHEDULES_CHANGED, self._on_changed)
        self._task = asyncio.create_task(self._loop(), name="scheduler")
        log.info("scheduler.started")

    async def stop(self) -> None:
        self.notifier.off(SCHEDULES_CHANGED, self._on_changed)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _on_changed(self, _payload: str) -> None:
        self._wake.set()  # also after the listener reconnected ("" payload): look again

    async def tick(self, now: datetime | None = None) -> int:
        """Fire every schedule due at `now` (default: the clock), in batches; returns the runs created."""
        now = now or utc_now()
        created = 0
        while True:
            async with self.sessions() as session, session.begin():
                fired = await fire_due(session, self.agents, self.settings, now)
            created += fired.created
            if fired.claimed < BATCH:
                return created

    async def _loop(self) -> None:
        while True:
            self._wake.clear()  # before reading: a change made while we read wakes the sleep below at once
            try:
                await self.tick()
                delay = await self._until_next()
            except Exception as exc:
                self._failed(exc)
                delay = RETRY_SECONDS
            else:
                if self._outage:
                    log.info("scheduler.database_back")
                    self._outage = False
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)

    async def _until_next(self) -> float:
        """Seconds until the earliest enabled schedule's next tick, within [0, MAX_SLEEP_SECONDS]."""
        async with self.sessions() as session:
            earliest = await session.scalar(select(func.min(Schedule.next_fire_at)).where(Schedule.enabled))
        if earliest is None:
            return MAX_SLEEP_SECONDS
        return min(MAX_SLEEP_SECONDS, max(0.0, (earliest - utc_now()).total_seconds()))

    def _failed(self, exc: Exception) -> None:
        if not database_unavailable(exc):
            log.exception("scheduler.tick_failed")
        elif not self._outage:
            self._outage = True
            log.warning("scheduler.database_unavailable", error=repr(exc)[:200])
