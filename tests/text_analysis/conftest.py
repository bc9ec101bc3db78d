"""A server for seed 003's API: notifications may reach loopback sinks and retry within milliseconds, and the
demo users have keys (the notification tests' fixtures, `notifying` and `sink`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.database import run_db
from tests.fixtures.demo import DemoUser
from tests.fixtures.server import LiveServer
from tests.notifications.conftest import notifying, sink

__all__ = ["notifying", "sink"]  # fixtures, shared with the notification tests

Start = Callable[..., tuple[LiveServer, dict[str, DemoUser]]]


@pytest.fixture
def orchestrator(notifying: Start) -> Start:
    """A server whose callbacks may go to loopback sinks and are retried fast (the notification tests' own)."""
    return notifying


def process(client: httpx.Client, text_: str, mode: str = "parallel", **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v1/process", json={"text": text_, "orchestration_mode": mode, **fields})
    assert response.status_code == 202, response.text
    accepted: dict[str, Any] = response.json()
    assert response.headers["location"] == f"/api/v1/results/{accepted['request_id']}"
    return accepted


def wait_result(
    client: httpx.Client,
    request_id: str,
    timeout: float = 20,
    until: Callable[[dict[str, Any]], bool] = lambda result: True,
) -> dict[str, Any]:
    """GET /api/v1/results/{id} until 200 (202 meanwhile, with a not-final status) and `until` the result."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/v1/results/{request_id}")
        if response.status_code == 200:
            result: dict[str, Any] = response.json()
            if until(result):
                return result
            assert time.monotonic() < deadline, result
            time.sleep(0.05)
            continue
        assert response.status_code == 202, response.text
        assert response.json()["status"] in ("pending", "processing"), response.text
        assert time.monotonic() < deadline, response.text
        time.sleep(0.05)


def count(server: LiveServer, table: str) -> int:
    """Rows of a table, any user's (a refused request must store none)."""

    async def read(session: AsyncSession) -> int:
        return int((await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())  # noqa: S608

    return run_db(server.database_url, read)
