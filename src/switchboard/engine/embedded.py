"""The worker loops `switchboard serve` runs inside the server process (with the process's background loops:
dispatcher, scheduler), and the runs that process both creates and executes (`engine.local`): a request
reserves a slot in one of them for the run it is about to create."""

from __future__ import annotations

import asyncio
import contextlib

from switchboard.agents.registry import AgentRegistry
from switchboard.background import BackgroundLoops
from switchboard.engine.local import SettledHere
from switchboard.engine.worker import Worker
from switchboard.kit.db import Database
from switchboard.kit.notify import Notifier
from switchboard.settings import Settings


class EmbeddedWorkers:
    """The worker loops `switchboard serve` runs inside the server process (`--workers N`, 0 = API only)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.workers: list[Worker] = []
        self.loops: list[asyncio.Task[None]] = []
        self.settled_here = SettledHere()
        self.background: BackgroundLoops | None = None

    def reserve(self, agent: str) -> Worker | None:
        """A worker of this process with a slot for a run of `agent` now, reserved (see `Worker.reserve`)."""
        for worker in self.workers:
            if worker.reserve(agent):
                return worker
        return None

    async def start(self, db: Database, agents: AgentRegistry, settings: Settings, notifier: Notifier) -> None:
        for index in range(self.count):
            worker = Worker(
                db.engine, agents, settings, notifier, name=f"serve-{index}", settled_here=self.settled_here
            )
            await worker.start()
            self.workers.append(worker)
            self.loops.append(asyncio.create_task(worker.run(), name=f"worker loop {worker.id}"))
        if self.count:
            self.background = BackgroundLoops(db.engine, agents, settings, notifier)
            await self.background.start()

    async def stop(self) -> None:
        await asyncio.gather(*(worker.stop() for worker in self.workers))
        if self.background is not None:  # after the workers: what their last runs settle is delivered too
            await self.background.stop()
        for loop in self.loops:
            with contextlib.suppress(asyncio.CancelledError):
                await loop
