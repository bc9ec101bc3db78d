"""A server whose notifications may reach loopback sinks and retry within milliseconds, with the demo users."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.webhook_sink import WebhookSink, webhook_sink
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
