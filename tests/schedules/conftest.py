"""Fixtures for the schedules tests: the HTTP API with the test agents and no worker (so no scheduler runs
unless a test drives one, with its own clock, or starts worker processes), the demo users, and a scheduler
driven by an injected clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from switchboard.agents.registry import AgentRegistry
from switchboard.engine import channels
from switchboard.kit.notify import Notifier
from switchboard.plugins.loader import load_plugins
from switchboard.schedules.scheduler import Scheduler
from switchboard.settings import Settings
from tests.fixtures.database import run_db
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.processes import TEST_PLUGIN, Processes, processes
from tests.fixtures.server import LiveServer

ALICE = "alice@example.com"
BOB = "bob@example.com"


class Api:
    """The API server (workers=0) and the demo users."""

    def __init__(self, server: LiveServer, people: dict[str, DemoUser]) -> None:
        self.server = server
        self.people = people

    @property
    def settings(self) -> Settings:
        return self.server.settings

    def client(self, email: str = ALICE) -> httpx.Client:
        return self.server.client(self.people[email].key)

    def create(self, client: httpx.Client, **fields: Any) -> dict[str, Any]:
        """POST /v1/schedules that must succeed; defaults: the echo agent every day at 09:00 UTC."""
        body = {"agent": "echo", "message": "hello from a schedule", "cron": "0 9 * * *", **fields}
        response = client.post("/v1/schedules", json=body)
        assert response.status_code == 201, response.text
        schedule: dict[str, Any] = response.json()
        return schedule

    def sql(self, statement: str, **params: Any) -> list[Any]:
        """One statement on the test database, committed; the rows of a SELECT."""

        async def go(session: AsyncSession) -> list[Any]:
            result = await session.execute(text(statement), params)
            return list(result.all()) if statement.lstrip().upper().startswith("SELECT") else []

        return run_db(self.server.database_url, go)

    def set_next_fire_at(self, schedule_id: str, at: datetime) -> None:
        self.sql("UPDATE schedules SET next_fire_at = :at WHERE id = :id", at=at, id=schedule_id)

    def ticks(self, schedule_id: str) -> list[datetime]:
        """The `scheduled_for` of the schedule's runs, in order."""
        rows = self.sql(
            "SELECT scheduled_for FROM runs WHERE schedule_id = :id AND scheduled_for IS NOT NULL "
            "ORDER BY scheduled_for",
            id=schedule_id,
        )
        return [row[0] for row in rows]

    def drive(self, times: Iterable[datetime], *, without_agents: tuple[str, ...] = ()) -> list[int]:
        """`Scheduler.tick(now)` at each of `times`, in this process, with the server's agents (less
        `without_agents`: as if their plugin had been removed); the runs each tick created."""
        settings = self.settings
        assert settings.database_url is not None
        specs = [spec for plugin in load_plugins(settings) for spec in plugin.agents if spec.name not in without_agents]

        async def go() -> list[int]:
            engine = create_async_engine(settings.database_url or "")
            try:
                # Never started: `tick` needs no listener (the loop does).
                notifier = Notifier(settings.database_url or "", channels.ALL)
                scheduler = Scheduler(engine, AgentRegistry(specs, settings), settings, notifier)
                return [await scheduler.tick(now) for now in times]
            finally:
                await engine.dispose()

        return asyncio.run(go())


@pytest.fixture
def api(make_server: Callable[..., LiveServer]) -> Api:
    server = make_server(plugins=[TEST_PLUGIN], workers=0, allow_private_urls=True)
    return Api(server, seed_demo(server.settings))


@pytest.fixture
def procs(db_url: str, tmp_path: Path) -> Iterator[Processes]:
    with processes(db_url, tmp_path) as started:
        yield started
