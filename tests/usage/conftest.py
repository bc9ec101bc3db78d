"""A server with the usage test agents (`tests.usage.agents`) and the demo users."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.server import LiveServer

PLUGIN = "tests.usage.agents:plugin"
ALICE, BOB, ADMIN = "alice@example.com", "bob@example.com", "admin@example.com"
HOUSE_PRICES = {"house-model": {"input_per_mtok": 0.5, "output_per_mtok": 1.5}}


@pytest.fixture
def usage_server(make_server: Callable[..., LiveServer]) -> Callable[..., tuple[LiveServer, dict[str, DemoUser]]]:
    """Start a server with the usage agents (and `overrides`); returns it with the demo users."""

    def start(**overrides: Any) -> tuple[LiveServer, dict[str, DemoUser]]:
        server = make_server(**{"plugins": [PLUGIN], "model_prices": HOUSE_PRICES, **overrides})
        return server, seed_demo(server.settings)

    return start


def run_and_wait(client: httpx.Client, agent: str, message: str = "hello", **fields: Any) -> dict[str, Any]:
    """POST /v1/runs/wait (each response asked for whole); the finished run."""
    response = client.post("/v1/runs/wait", json={"agent": agent, "message": message, **fields})
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()
    return run


def steps(client: httpx.Client, run_id: str, kind: str = "model_request") -> list[dict[str, Any]]:
    response = client.get(f"/v1/runs/{run_id}/steps")
    assert response.status_code == 200, response.text
    return [step for step in response.json() if step["kind"] == kind]
