"""A server for seed 003's API: notifications may reach loopback sinks and retry within milliseconds, texts of
10,000 characters are taken, and the demo users have keys."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fakes.webhook_sink import WebhookSink, webhook_sink
from tests.fixtures.database import run_db
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.server import LiveServer

FAST_RETRIES = "0.05,0.05,0.05,0.05"  # five attempts in all, 50 ms apart
Start = Callable[..., tuple[LiveServer, dict[str, DemoUser]]]


@pytest.fixture
def orchestrator(make_server: Callable[..., LiveServer]) -> Start:
    def start(**overrides: Any) -> tuple[LiveServer, dict[str, DemoUser]]:
        values: dict[str, Any] = {
            "allow_private_urls": True,
            "webhook_retry_seconds": FAST_RETRIES,
            "webhook_retry_jitter": 0,
        }
        server = make_server(**{**values, **overrides})
        return server, seed_demo(server.settings)

    return start


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with webhook_sink() as receiver:
        yield receiver


def process(client: httpx.Client, text_: str, mode: str = "parallel", **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v1/process", json={"text": text_, "orchestration_mode": mode, **fields})
    assert response.status_code == 202, response.text
    accepted: dict[str, Any] = response.json()
    assert response.headers["location"] == f"/api/v1/results/{accepted['request_id']}"
    return accepted


def wait_result(client: httpx.Client, request_id: str, timeout: float = 20) -> dict[str, Any]:
    """GET /api/v1/results/{id} until 200 (202 meanwhile, with a not-final status)."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/v1/results/{request_id}")
        if response.status_code == 200:
            result: dict[str, Any] = response.json()
            return result
        assert response.status_code == 202, response.text
        assert response.json()["status"] in ("pending", "processing"), response.text
        assert time.monotonic() < deadline, response.text
        time.sleep(0.05)


def count(server: LiveServer, table: str) -> int:
    """Rows of a table, any user's (a refused request must store none)."""

    async def read(session: AsyncSession) -> int:
        return int((await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())  # noqa: S608

    return run_db(server.database_url, read)
