"""A server whose notifications may reach loopback sinks and retry within milliseconds, with the demo users."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fakes.smtp_sink import SmtpSink, smtp_sink
from tests.fakes.webhook_sink import WebhookSink, webhook_sink
from tests.fixtures.database import run_db
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.server import LiveServer

FAST_RETRIES = "0.05,0.05,0.05,0.05"  # five attempts in all, 50 ms apart


@pytest.fixture
def notifying(make_server: Callable[..., LiveServer]) -> Callable[..., tuple[LiveServer, dict[str, DemoUser]]]:
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


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with smtp_sink() as server:
        yield server


def smtp_settings(smtp: SmtpSink) -> dict[str, Any]:
    """The settings that send email to the sink (plain SMTP on loopback)."""
    return {
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "smtp_security": "none",
        "smtp_from": "switchboard@example.com",
    }


def register(client: httpx.Client, url: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/webhooks", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    endpoint: dict[str, Any] = response.json()
    return endpoint


def finished_run(client: httpx.Client, message: str = "Show me all my orders", **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/runs/wait", json={"agent": "support", "message": message, **fields})
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()
    return run


def run_deliveries(client: httpx.Client, run_id: str, count: int, status: str, timeout: float = 10) -> list[Any]:
    """The run's delivery log (GET /v1/runs/{id}/deliveries) once `count` of its deliveries are in `status`."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/v1/runs/{run_id}/deliveries")
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        if sum(item["status"] == status for item in items) >= count:
            return items
        assert time.monotonic() < deadline, items
        time.sleep(0.05)


def count_runs(server: LiveServer) -> int:
    """Every run in the database, of any user (a refused request must store none)."""

    async def read(session: AsyncSession) -> int:
        return int((await session.execute(text("SELECT count(*) FROM runs"))).scalar_one())

    return run_db(server.database_url, read)


def stored_notify(server: LiveServer, run_id: str) -> Any:
    """The run's `notify` column as stored."""

    async def read(session: AsyncSession) -> Any:
        statement = text("SELECT notify FROM runs WHERE id = :id")
        return (await session.execute(statement, {"id": uuid.UUID(run_id)})).scalar()

    return run_db(server.database_url, read)
