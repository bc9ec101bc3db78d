"""Fixtures of the trigger tests: a server with a small payload limit, and the demo users on it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.server import LiveServer

SMALL_LIMIT = 1024


@pytest.fixture
def small_limit(make_server: Callable[..., LiveServer]) -> tuple[LiveServer, dict[str, DemoUser]]:
    """A server taking trigger events of at most SMALL_LIMIT bytes, with the demo users."""
    server = make_server(trigger_max_payload_bytes=SMALL_LIMIT)
    return server, seed_demo(server.settings)
