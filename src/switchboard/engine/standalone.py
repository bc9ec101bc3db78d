"""`switchboard worker`: workers without the HTTP API, on any machine that reaches the database."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import structlog

from switchboard.agents.registry import AgentRegistry
from switchboard.background import BackgroundLoops
from switchboard.engine import channels
from switchboard.engine.worker import Worker
from switchboard.kit.db import Database
from switchboard.kit.notify import Notifier
from switchboard.plugins.spec import Plugin
from switchboard.settings import Settings

log = structlog.get_logger(__name__)


async def run_worker(db: Database, settings: Settings, plugins: list[Plugin], *, drain: bool = False) -> None:
    """Run one worker until SIGTERM/SIGINT (graceful: in-flight runs get the grace period), or, with `drain`,
    until the queue has nothing left for it."""
    agents = AgentRegistry(
        [spec for plugin in plugins for spec in plugin.agents],
        settings,
        [pipeline for plugin in plugins for pipeline in plugin.pipelines],
    )
    notifier = Notifier(db.url, channels.ALL)
    await notifier.start()
    worker = Worker(db.engine, agents, settings, notifier, name="worker")
    background = BackgroundLoops(db.engine, agents, settings, notifier)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await worker.start()
        await background.start()
        claiming = asyncio.create_task(worker.run(drain=drain), name="worker loop")
        stop_requested = asyncio.create_task(stopping.wait())
        await asyncio.wait({claiming, stop_requested}, return_when=asyncio.FIRST_COMPLETED)
        if stopping.is_set():
            log.info("worker.signal", note="stopping: in-flight runs get the grace period")
        await worker.stop()
        await background.stop()  # after the worker: what its last runs settle is delivered too
        stop_requested.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await claiming
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await notifier.close()
