"""Fixtures for the run-engine tests: a server with the test agents, the effects table, and seeded users."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.agents import CREATE_EFFECTS, EFFECTS_TABLE
from tests.fixtures.database import run_db
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.processes import Processes, processes
from tests.fixtures.server import LiveServer

TEST_PLUGIN = "tests.fixtures.agents:plugin"


@pytest.fixture
def effects_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file the test tools append one line to per execution (outside any transaction)."""
    path = tmp_path / "effects.log"
    path.touch()
    monkeypatch.setenv("SWITCHBOARD_TEST_EFFECTS_LOG", str(path))
    return path


@pytest.fixture
def effects(db_url: str) -> Callable[[], dict[str, int]]:
    """The committed counters of the `bump` tool."""

    async def reset(session: AsyncSession) -> None:
        for statement in CREATE_EFFECTS:
            await session.execute(text(statement))
        await session.execute(text(f"TRUNCATE {EFFECTS_TABLE}"))

    run_db(db_url, reset)

    def read() -> dict[str, int]:
        async def go(session: AsyncSession) -> dict[str, int]:
            rows = await session.execute(text("SELECT key, count FROM switchboard_tests.effects"))
            return {key: count for key, count in rows.all()}

        return run_db(db_url, go)

    return read


@pytest.fixture
def runs_server(
    make_server: Callable[..., LiveServer], effects_log: Path, effects: Callable[[], dict[str, int]]
) -> Callable[..., LiveServer]:
    """Start a server with the test agents (embedded workers unless workers=0)."""

    def start(**overrides: Any) -> LiveServer:
        return make_server(plugins=[TEST_PLUGIN], **overrides)

    return start


@pytest.fixture
def users(runs_server: Callable[..., LiveServer]) -> tuple[LiveServer, dict[str, DemoUser]]:
    server = runs_server()
    return server, seed_demo(server.settings)


@pytest.fixture
def procs(db_url: str, tmp_path: Path, effects_log: Path) -> Iterator[Processes]:
    with processes(db_url, tmp_path, effects_log) as started:
        yield started


@pytest.fixture
def api(runs_server: Callable[..., LiveServer]) -> tuple[LiveServer, httpx.Client]:
    """The HTTP API alone (workers=0): nothing executes runs unless a worker process does."""
    server = runs_server(workers=0)
    people = seed_demo(server.settings)
    return server, server.client(people["alice@example.com"].key)
