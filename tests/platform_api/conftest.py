"""Fixtures of the platform API (seed 002) tests: a server with the test agents (`echo` shows what its model
was given), loopback notification sinks allowed, and the demo users; helpers to read a stream and wait."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from switchboard.kit.sse import parse_sse
from tests.fakes.smtp_sink import SmtpSink
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.processes import TEST_PLUGIN
from tests.fixtures.server import LiveServer
from tests.notifications.conftest import sink, smtp

__all__ = ["sink", "smtp"]  # fixtures, shared with the notification tests

ALICE = "alice@example.com"
BOB = "bob@example.com"


class Platform:
    def __init__(self, server: LiveServer, people: dict[str, DemoUser]) -> None:
        self.server = server
        self.people = people

    def client(self, email: str = ALICE) -> httpx.Client:
        return self.server.client(self.people[email].key)


@pytest.fixture
def start_platform(make_server: Callable[..., LiveServer]) -> Callable[..., Platform]:
    def start(**overrides: Any) -> Platform:
        values: dict[str, Any] = {
            "plugins": [TEST_PLUGIN],
            "allow_private_urls": True,
            "webhook_retry_seconds": "0.05,0.05",
            "webhook_retry_jitter": 0,
        }
        server = make_server(**{**values, **overrides})
        return Platform(server, seed_demo(server.settings))

    return start


@pytest.fixture
def platform(start_platform: Callable[..., Platform], smtp: SmtpSink) -> Platform:
    """With email to the SMTP sink: seed 002's examples notify by email."""
    return start_platform(
        smtp_host=smtp.host, smtp_port=smtp.port, smtp_security="none", smtp_from="switchboard@example.com"
    )


def stream_events(client: httpx.Client, path: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """POST and read the server-sent events to the end: (event, data) pairs."""
    with client.stream("POST", path, json=body) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return [(event.event, json.loads(event.data)) for event in parse_sse(response.iter_lines())]


def settled_run(client: httpx.Client, run_id: str, timeout: float = 15) -> dict[str, Any]:
    """GET /v1/runs/{id} until the run is finished."""
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, Any] = client.get(f"/v1/runs/{run_id}").json()
        if run["status"] in ("succeeded", "failed", "cancelled", "timed_out", "requires_action"):
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.05)
