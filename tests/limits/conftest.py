"""The rate-limit tests' servers: a tier of the test's numbers (demo users are on `free`), the `spender` agent,
and either limiter store. Redis tests skip when SWITCHBOARD_REDIS_URL is unset or Redis does not answer; each
test has keys of its own (a prefix), deleted afterwards."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import redis

from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.server import LiveServer

PLUGIN = "tests.limits.agents:plugin"
ALICE = "alice@example.com"
BOB = "bob@example.com"
ADMIN = "admin@example.com"


def _redis_answers(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False


@pytest.fixture(params=["postgres", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The settings that choose the limiter's store."""
    if request.param == "postgres":
        yield {}
        return
    url = os.environ.get("SWITCHBOARD_REDIS_URL")
    if not url:
        pytest.skip("SWITCHBOARD_REDIS_URL is not set")
    if not _redis_answers(url):
        pytest.skip(f"Redis does not answer at {url}")
    prefix = f"switchboard-test:{uuid.uuid4().hex}:"
    yield {"redis_url": url, "redis_key_prefix": prefix}
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


Limited = Callable[..., tuple[LiveServer, dict[str, DemoUser]]]


@pytest.fixture
def limited(make_server: Callable[..., LiveServer]) -> Limited:
    """`limited(rpm=…, tpm=…, max_concurrent_runs=…, **settings)`: a server whose `free` tier (every demo user's)
    has those numbers, with no workers unless asked (runs stay queued: creating them is what is limited), and
    the demo users. `tier=None` gives the tier nothing."""

    def start(**given: Any) -> tuple[LiveServer, dict[str, DemoUser]]:
        numbers = {
            name: given.pop(name) for name in ("rpm", "tpm", "daily_cost_usd", "max_concurrent_runs") if name in given
        }
        given.setdefault("workers", 0)
        server = make_server(tiers={"free": numbers, "pro": {}}, plugins=[PLUGIN], **given)
        return server, seed_demo(server.settings)

    return start


def run_body(message: str = "tokens=10 requests=1") -> dict[str, Any]:
    return {"agent": "spender", "message": message}


def concurrently(server: LiveServer, key: str, count: int, path: str = "/v1/runs") -> list[httpx.Response]:
    """`count` run-creating requests at once (each on its own connection)."""

    async def go() -> list[httpx.Response]:
        headers = {"Authorization": f"Bearer {key}"}
        limits = httpx.Limits(max_connections=count)
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60, limits=limits) as client:
            return list(await asyncio.gather(*(client.post(path, json=run_body()) for _ in range(count))))

    return asyncio.run(go())
