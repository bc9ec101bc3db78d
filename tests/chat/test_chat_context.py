"""`context` on a chat turn, over real HTTP: it becomes the thread's context before the turn (a new thread is
made with it), streamed or not; left out, the thread keeps its own; null clears it. A bad context is refused
before anything is made; another user's thread is a 404 and keeps its context."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx

from tests.fixtures.demo import seed_demo
from tests.fixtures.http import assert_error
from tests.fixtures.server import LiveServer
from tests.threads.context_agents import SEEN

TEST_USER = "test.user@example.com"
ALICE = "alice@example.com"
PLUGIN = "tests.threads.context_agents:plugin"


def turn(client: httpx.Client, message: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/chat", json={"agent": "peek", "message": message, **fields})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def thread_count(client: httpx.Client) -> int:
    return len(client.get("/v1/threads", params={"limit": 100}).json()["items"])


def test_chat_sets_replaces_keeps_and_clears_the_context(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(plugins=[PLUGIN])
    user = seed_demo(server.settings)[TEST_USER]
    with server.client(user.key) as client:
        first = turn(client, "hello", context={"page": "order", "order_id": 1})
        tid = first["thread_id"]
        assert first["reply"] == 'the tool saw {"order_id": 1, "page": "order"}'  # a new thread, made with it
        assert client.get(f"/v1/threads/{tid}").json()["context"] == {"page": "order", "order_id": 1}
        assert client.get(f"/v1/threads/{tid}").json()["turns"] == 1

        replaced = turn(client, "and now?", thread_id=tid, context={"page": "cart"})
        assert replaced["reply"] == 'the tool saw {"page": "cart"}'
        kept = turn(client, "still?", thread_id=tid)
        assert kept["reply"] == 'the tool saw {"page": "cart"}'
        cleared = turn(client, "gone?", thread_id=tid, context=None)
        assert cleared["reply"] == "the tool saw null"
        thread = client.get(f"/v1/threads/{tid}").json()
        assert thread["context"] is None
        assert thread["turns"] == 4
        texts = [m["text"] for m in client.get(f"/v1/threads/{tid}/messages").json()["items"] if m["role"] == "user"]
        assert texts == ["hello", "and now?", "still?", "gone?"]  # the user's words, not the context blocks


def test_chat_stream_takes_the_context_too(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(plugins=[PLUGIN])
    user = seed_demo(server.settings)[TEST_USER]
    message = f"streamed {uuid.uuid4().hex}"
    body = {"agent": "peek", "message": message, "context": {"page": "order", "order_id": 3}}
    with server.client(user.key) as client, client.stream("POST", "/v1/chat/stream", json=body) as response:
        assert response.status_code == 200, response.read()
        lines = list(response.iter_lines())
    assert "event: done" in lines, lines
    done = lines[lines.index("event: done") + 1]
    assert 'the tool saw {\\"order_id\\": 3, \\"page\\": \\"order\\"}' in done, done
    assert len(SEEN[message]) == 2  # the model was asked twice: before and after the tool call


def test_bad_context_on_chat_changes_nothing(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(plugins=[PLUGIN], thread_context_max_bytes=256, max_prompt_chars=50)
    users = seed_demo(server.settings)
    with server.client(users[TEST_USER].key) as client:
        tid = turn(client, "hi", context={"page": "home"})["thread_id"]

        big = {"page": "x" * 300}
        for fields in ({"context": big}, {"context": big, "thread_id": tid}):
            response = client.post("/v1/chat", json={"agent": "peek", "message": "hi", **fields})
            error = assert_error(response, 413, "payload_too_large")
            assert [d["field"] for d in error["details"]] == ["context"]
        error = assert_error(
            client.post("/v1/chat", json={"agent": "peek", "message": "hi", "context": ["not", "an", "object"]}),
            422,
            "validation_error",
        )
        assert [d["field"] for d in error["details"]] == ["context"]
        # A turn refused after its new thread was made (its message is too long): the thread goes too.
        too_long = client.post("/v1/chat", json={"agent": "peek", "message": "y" * 60, "context": {"page": "home"}})
        assert_error(too_long, 413, "payload_too_large")
        assert thread_count(client) == 1
        thread = client.get(f"/v1/threads/{tid}").json()
        assert thread["context"] == {"page": "home"}
        assert thread["turns"] == 1

    with server.client(users[ALICE].key) as alice:
        response = alice.post(
            "/v1/chat", json={"agent": "peek", "message": "hi", "thread_id": tid, "context": {"page": "stolen"}}
        )
        error = assert_error(response, 404, "not_found")
        assert [d["field"] for d in error["details"]] == ["thread_id"]
        assert thread_count(alice) == 0
    with server.client(users[TEST_USER].key) as client:
        assert client.get(f"/v1/threads/{tid}").json()["context"] == {"page": "home"}
