"""A server with the tool-test agents and the demo's users, and the tool effects table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.database import run_db
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.server import LiveServer
from tests.tools.agents import CREATE_TOOL_EFFECTS, TOOL_EFFECTS

TOOLS_PLUGIN = "tests.tools.agents:plugin"


@pytest.fixture
def tool_effects(db_url: str) -> Callable[[], dict[str, int]]:
    """The committed effects of the test tools: key → the user it was written for."""

    async def reset(session: AsyncSession) -> None:
        for statement in CREATE_TOOL_EFFECTS:
            await session.execute(text(statement))
        await session.execute(text(f"TRUNCATE {TOOL_EFFECTS}"))

    run_db(db_url, reset)

    def read() -> dict[str, int]:
        async def go(session: AsyncSession) -> dict[str, int]:
            rows = await session.execute(text("SELECT key, user_id FROM switchboard_tests.tool_effects"))
            return {key: user_id for key, user_id in rows.all()}

        return run_db(db_url, go)

    return read


@pytest.fixture
def tools_server(make_server: Callable[..., LiveServer], tool_effects: Any) -> LiveServer:
    return make_server(plugins=[TOOLS_PLUGIN])


@pytest.fixture
def people(tools_server: LiveServer) -> dict[str, DemoUser]:
    return seed_demo(tools_server.settings)
