"""The loops every worker process runs once, besides its worker loops: the notification dispatcher and the
scheduler. `switchboard serve` (with workers) and `switchboard worker` both run them, so deliveries and ticks
go on wherever runs are executed; several processes share the work through the database (`SKIP LOCKED`)."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.agents.registry import AgentRegistry
from switchboard.kit.notify import Notifier
from switchboard.notifications.dispatcher import Dispatcher
from switchboard.schedules.scheduler import Scheduler
from switchboard.settings import Settings


class Loop(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class BackgroundLoops:
    def __init__(self, engine: AsyncEngine, agents: AgentRegistry, settings: Settings, notifier: Notifier) -> None:
        self.loops: list[Loop] = []
        self.engine, self.agents, self.settings, self.notifier = engine, agents, settings, notifier

    async def start(self) -> None:
        self.loops = [
            Dispatcher(self.engine, self.settings, self.notifier),
            Scheduler(self.engine, self.agents, self.settings, self.notifier),
        ]
        for loop in self.loops:
            await loop.start()

    async def stop(self) -> None:
        for loop in reversed(self.loops):
            await loop.stop()
        self.loops = []
