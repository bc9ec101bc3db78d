from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.fixtures.demo import DemoUser
from tests.fixtures.server import LiveServer


def test_concurrent_first_calls_share_one_default_thread(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    """Seed 000's route keeps one thread per user; racing first calls must not fail or split it."""
    user = demo["test.user@example.com"]

    def call(_: int) -> int:
        with server.client(user.key) as client:
            return client.post("/api/v1/chat", json={"prompt": "Show me all my orders"}).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(call, range(6)))
    assert statuses == [200] * 6

    with server.client(user.key) as client:
        threads = client.get("/v1/threads").json()["items"]
    assert len(threads) == 1
    assert threads[0]["turns"] == 6
