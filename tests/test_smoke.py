from __future__ import annotations

from tests.fixtures.demo import DemoUser
from tests.fixtures.server import LiveServer


def test_health_is_public_and_chat_needs_a_key(server: LiveServer) -> None:
    with server.client() as client:
        assert client.get("/health").json()["status"] == "ok"
        response = client.post("/v1/chat", json={"agent": "support", "message": "hi"})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_support_lists_orders(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo["test.user@example.com"].key) as client:
        response = client.post("/v1/chat", json={"agent": "support", "message": "Show me all my orders"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "Order #1" in body["reply"]
    assert body["model"] == "offline"
