"""Seed 000's example session (its steps 2-8), replayed over real HTTP on `POST /api/v1/chat` with the offline
model, each demo user calling with their own key; multi-turn references through the route's per-user thread;
and identity: `user_id` may only name the caller, unless the caller is an admin acting for that user."""

from __future__ import annotations

from typing import Any

from tests.fixtures.demo import DemoUser
from tests.fixtures.http import assert_error
from tests.fixtures.server import LiveServer

TEST_USER = "test.user@example.com"
ALICE = "alice@example.com"
BOB = "bob@example.com"
ADMIN = "admin@example.com"

SEEDED = {1: "pending", 2: "processing", 3: "shipped"}


def say(server: LiveServer, user: DemoUser, prompt: str, *, user_id: int | None = None) -> str:
    """One call of seed 000's route; checks the response shape and request id, returns the reply text."""
    body: dict[str, Any] = {"prompt": prompt}
    if user_id is not None:
        body["user_id"] = user_id
    with server.client(user.key) as client:
        response = client.post("/api/v1/chat", json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["request_id"] == response.headers["X-Request-ID"]
    assert data["model"] == "offline"
    reply = data["response"]
    assert isinstance(reply, str)
    return reply


def statuses(server: LiveServer, user: DemoUser) -> dict[int, str]:
    with server.client(user.key) as client:
        response = client.get("/demo/orders")
    assert response.status_code == 200, response.text
    return {order["id"]: order["status"] for order in response.json()}


def all_statuses(server: LiveServer, demo: dict[str, DemoUser]) -> dict[int, str]:
    merged: dict[int, str] = {}
    for email in (TEST_USER, ALICE, BOB):
        merged.update(statuses(server, demo[email]))
    return merged


def test_the_seed_session(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    test_user, alice, bob = demo[TEST_USER], demo[ALICE], demo[BOB]
    assert all_statuses(server, demo) == SEEDED

    # 2. List all orders.
    reply = say(server, test_user, "Show me all my orders", user_id=test_user.user_id)
    assert "Here are your orders" in reply
    assert "**Order #1** | Status: pending" in reply
    assert "Mechanical Keyboard" in reply
    assert "Order #2" not in reply
    assert "Order #3" not in reply
    assert "You currently have 1 order on file" in reply

    # 3. Status of order 1.
    reply = say(server, test_user, "What is the status of order 1?", user_id=test_user.user_id)
    assert reply.startswith("Order #1 (Mechanical Keyboard) is currently **pending**. It was placed on 2026-03-01.")
    assert "Would you like to cancel it" in reply
    assert statuses(server, test_user) == {1: "pending"}  # looking changes nothing

    # 4. Cancel it: pending orders can be cancelled.
    reply = say(server, test_user, "Yes, please cancel order 1", user_id=test_user.user_id)
    assert reply.startswith("Done! Order #1 has been successfully cancelled.")
    assert statuses(server, test_user) == {1: "cancelled"}

    # 5. Cancel again: already cancelled, nothing more happens.
    reply = say(server, test_user, "Cancel order 1", user_id=test_user.user_id)
    assert "I wasn't able to cancel Order #1 because it's already been cancelled" in reply
    assert statuses(server, test_user) == {1: "cancelled"}

    # 6. Bob cancels a shipped order: refused by the business rule.
    reply = say(server, bob, "Cancel order 3", user_id=bob.user_id)
    assert "I'm sorry, but I can't cancel Order #3 because it has already been shipped" in reply
    assert statuses(server, bob) == {3: "shipped"}

    # 7. Test User asks about Alice's order: "not found in your account", never "it is someone else's".
    reply = say(server, test_user, "What's the status of order 2?", user_id=test_user.user_id)
    assert "I wasn't able to find Order #2 in your account" in reply
    for leak in ("processing", "Widget A", "Alice"):
        assert leak not in reply
    assert statuses(server, alice) == {2: "processing"}

    # 8. Alice is vague: the agent asks which order rather than guessing.
    reply = say(server, alice, "I want to cancel my order", user_id=alice.user_id)
    assert "Could you please provide me with the order number" in reply
    assert statuses(server, alice) == {2: "processing"}

    assert all_statuses(server, demo) == {1: "cancelled", 2: "processing", 3: "shipped"}


def test_user_id_may_be_omitted_and_a_chosen_request_id_is_echoed(
    server: LiveServer, demo: dict[str, DemoUser]
) -> None:
    with server.client(demo[TEST_USER].key) as client:
        response = client.post(
            "/api/v1/chat", json={"prompt": "Show my orders"}, headers={"X-Request-ID": "my-custom-trace-id-123"}
        )
    assert response.status_code == 200, response.text
    assert "**Order #1**" in response.json()["response"]
    assert response.headers["X-Request-ID"] == "my-custom-trace-id-123"
    assert response.json()["request_id"] == "my-custom-trace-id-123"


def test_cancel_it_refers_to_the_order_just_discussed(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    test_user = demo[TEST_USER]
    reply = say(server, test_user, "What is the status of order 1?")
    assert "**pending**" in reply
    assert statuses(server, test_user) == {1: "pending"}

    reply = say(server, test_user, "Yes, please cancel it")

    assert reply.startswith("Done! Order #1 has been successfully cancelled.")
    assert statuses(server, test_user) == {1: "cancelled"}
    with server.client(test_user.key) as client:
        threads = client.get("/v1/threads").json()["items"]
    assert len(threads) == 1  # both calls continued the user's one default thread
    assert threads[0]["turns"] == 2


def test_order_number_given_in_reply_to_the_question(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    alice = demo[ALICE]
    reply = say(server, alice, "I want to cancel my order")
    assert "Could you please provide me with the order number" in reply
    assert statuses(server, alice) == {2: "processing"}

    reply = say(server, alice, "2")

    assert reply.startswith("Done! Order #2 has been successfully cancelled.")
    assert statuses(server, alice) == {2: "cancelled"}
    assert all_statuses(server, demo) == {1: "pending", 2: "cancelled", 3: "shipped"}


def test_a_member_cannot_act_for_someone_else(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    test_user, alice = demo[TEST_USER], demo[ALICE]
    with server.client(test_user.key) as client:
        response = client.post("/api/v1/chat", json={"prompt": "Cancel order 2", "user_id": alice.user_id})
        error = assert_error(response, 403, "permission_denied")
        assert f"user_id {alice.user_id}" in error["message"]
        threads = client.get("/v1/threads").json()["items"]
    assert threads == []  # the request was refused before any turn started
    assert statuses(server, alice) == {2: "processing"}
    with server.client(alice.key) as client:
        assert client.get("/v1/threads").json()["items"] == []


def test_an_admin_acts_for_a_user_and_the_turn_says_so(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    admin, bob = demo[ADMIN], demo[BOB]

    reply = say(server, admin, "Show me all my orders", user_id=bob.user_id)

    assert "**Order #3** | Status: shipped" in reply
    assert "Widget B" in reply
    assert "Order #1" not in reply
    assert "Order #2" not in reply
    # The turn is Bob's (in his thread), recorded as sent by the admin.
    with server.client(bob.key) as client:
        threads = client.get("/v1/threads").json()["items"]
        assert len(threads) == 1
        messages = client.get(f"/v1/threads/{threads[0]['id']}/messages").json()["items"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[0]["text"] == "Show me all my orders"
    assert {m["acted_by_user_id"] for m in messages} == {admin.user_id}
    with server.client(admin.key) as client:
        assert client.get("/v1/threads").json()["items"] == []  # nothing was recorded as the admin's own

    # Acting for Bob, the admin has Bob's permissions: Bob's shipped order still cannot be cancelled.
    reply = say(server, admin, "Cancel order 3", user_id=bob.user_id)
    assert "already been shipped" in reply
    assert statuses(server, bob) == {3: "shipped"}


def test_an_admin_acting_for_an_unknown_user_changes_nothing(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    admin = demo[ADMIN]
    with server.client(admin.key) as client:
        response = client.post("/api/v1/chat", json={"prompt": "Show me all my orders", "user_id": 9999})
        assert response.status_code == 404, response.text
        assert_error(response, 404, "not_found")
        assert client.get("/v1/threads").json()["items"] == []
