"""Threads: create, list (own only, paginated), get, messages (Pydantic AI JSON, in order), delete; another
user's thread is not found on every route."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from pydantic_ai.messages import ModelMessagesTypeAdapter, ModelRequest, ModelResponse
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.kit.pagination import encode_cursor
from switchboard.models import Thread, ThreadMessage
from tests.fixtures.database import run_db
from tests.fixtures.demo import DemoUser
from tests.fixtures.http import assert_error, chat
from tests.fixtures.server import LiveServer

TEST_USER = "test.user@example.com"
ALICE = "alice@example.com"


def count_rows(url: str, thread_id: str) -> tuple[int, int]:
    """(threads, messages) rows with this thread id."""

    async def work(session: AsyncSession) -> tuple[int, int]:
        tid = uuid.UUID(thread_id)
        threads = await session.scalar(select(func.count()).select_from(Thread).where(Thread.id == tid))
        messages = await session.scalar(
            select(func.count()).select_from(ThreadMessage).where(ThreadMessage.thread_id == tid)
        )
        return int(threads or 0), int(messages or 0)

    return run_db(url, work)


def create_thread(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/threads", json={"agent": "support", **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_create_thread(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[TEST_USER].key) as client:
        response = client.post(
            "/v1/threads", json={"agent": "support", "title": "Where is my keyboard?", "metadata": {"ticket": 42}}
        )
        assert response.status_code == 201, response.text
        thread = response.json()
        assert thread["agent"] == "support"
        assert thread["title"] == "Where is my keyboard?"
        assert thread["metadata"] == {"ticket": 42}
        assert thread["turns"] == 0
        uuid.UUID(thread["id"])
        assert client.get(f"/v1/threads/{thread['id']}").json() == thread
    assert count_rows(server.database_url, thread["id"]) == (1, 0)


def test_create_thread_with_unknown_agent_is_422_naming_agent(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[TEST_USER].key) as client:
        unknown = client.post("/v1/threads", json={"agent": "nope"})
        missing = client.post("/v1/threads", json={"title": "no agent"})
        listed = client.get("/v1/threads").json()
    error = assert_error(unknown, 422, "validation_error")
    assert "agent" in error["message"]
    assert "nope" in error["message"]
    assert error["details"] == [{"field": "agent", "message": "unknown agent"}]
    error = assert_error(missing, 422, "validation_error")
    assert "agent" in error["message"]
    assert [d["field"] for d in error["details"]] == ["agent"]
    assert listed == {"items": [], "next_cursor": None}  # neither request created anything


def test_list_shows_only_your_own_threads(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[ALICE].key) as alice:
        alices = {create_thread(alice, title="alice 1")["id"], create_thread(alice, title="alice 2")["id"]}
    with server.client(demo[TEST_USER].key) as mine:
        own = create_thread(mine, title="mine")["id"]
        listed = mine.get("/v1/threads").json()
    assert [t["id"] for t in listed["items"]] == [own]
    assert listed["next_cursor"] is None
    with server.client(demo[ALICE].key) as alice:
        assert {t["id"] for t in alice.get("/v1/threads").json()["items"]} == alices


def test_list_is_paginated_most_recent_first(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[TEST_USER].key) as client:
        created = [create_thread(client, title=f"t{i}")["id"] for i in range(5)]
        pages: list[list[str]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 2}
            if cursor is not None:
                params["cursor"] = cursor
            response = client.get("/v1/threads", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            pages.append([t["id"] for t in page["items"]])
            cursor = page["next_cursor"]
            if cursor is None:
                break
            assert len(pages) < 10, "pagination does not end"
        # Activity moves a thread to the front.
        chat(client, "hello", thread_id=created[0])
        first = client.get("/v1/threads", params={"limit": 1}).json()
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [tid for page in pages for tid in page] == list(reversed(created))
    assert [t["id"] for t in first["items"]] == [created[0]]
    assert first["items"][0]["turns"] == 1
    assert first["next_cursor"] is not None


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        encode_cursor("yesterday", "not-a-uuid"),
        encode_cursor("2026-01-01T00:00:00+00:00"),  # one value where two are expected
        encode_cursor(1, 2),
    ],
)
def test_list_with_a_bad_cursor_is_422(server: LiveServer, demo: dict[str, DemoUser], cursor: str) -> None:
    with server.client(demo[TEST_USER].key) as client:
        create_thread(client)
        response = client.get("/v1/threads", params={"cursor": cursor})
    error = assert_error(response, 422, "validation_error")
    assert "cursor" in error["message"]


@pytest.mark.parametrize("limit", [0, 101, "many"])
def test_list_with_a_bad_limit_is_422(server: LiveServer, demo: dict[str, DemoUser], limit: object) -> None:
    with server.client(demo[TEST_USER].key) as client:
        response = client.get("/v1/threads", params={"limit": str(limit)})
    error = assert_error(response, 422, "validation_error")
    assert [d["field"] for d in error["details"]] == ["limit"]


def test_get_thread(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[TEST_USER].key) as client:
        turn = chat(client, "Show me all my orders")
        response = client.get(f"/v1/threads/{turn['thread_id']}")
    assert response.status_code == 200, response.text
    thread = response.json()
    assert thread["id"] == turn["thread_id"]
    assert thread["agent"] == "support"
    assert thread["turns"] == 1
    assert thread["updated_at"] >= thread["created_at"]


def test_messages_are_in_order_with_roles_and_pydantic_ai_json(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[TEST_USER].key) as client:
        first = chat(client, "Show me all my orders")
        second = chat(client, "hello", thread_id=first["thread_id"])
        response = client.get(f"/v1/threads/{first['thread_id']}/messages")
        paged = client.get(f"/v1/threads/{first['thread_id']}/messages", params={"limit": 4})
        rest = client.get(
            f"/v1/threads/{first['thread_id']}/messages", params={"limit": 4, "cursor": paged.json()["next_cursor"]}
        )
    assert response.status_code == 200, response.text
    page = response.json()
    items = page["items"]
    assert page["next_cursor"] is None
    assert [m["role"] for m in items] == ["user", "assistant", "tool", "assistant", "user", "assistant"]
    assert [m["seq"] for m in items] == [1, 2, 3, 4, 5, 6]
    assert [m["turn"] for m in items] == [1, 1, 1, 1, 2, 2]
    assert items[0]["text"] == "Show me all my orders"
    assert items[3]["text"] == first["reply"]
    assert items[4]["text"] == "hello"
    assert items[5]["text"] == second["reply"]
    assert [m["model"] for m in items] == [None, "offline", None, "offline", None, "offline"]
    assert all(m["request_id"] for m in items)

    # `message` is Pydantic AI's own JSON: it loads back into the library's message types.
    messages = ModelMessagesTypeAdapter.validate_python([m["message"] for m in items])
    assert [type(m) for m in messages] == [ModelRequest, ModelResponse] * 3
    assert items[0]["message"]["parts"][0]["part_kind"] == "user-prompt"
    assert items[1]["message"]["parts"][0]["part_kind"] == "tool-call"
    assert items[1]["message"]["parts"][0]["tool_name"] == "list_orders"
    assert items[2]["message"]["parts"][0]["part_kind"] == "tool-return"
    assert items[3]["message"]["parts"][0]["part_kind"] == "text"

    # Paginated by seq.
    assert [m["seq"] for m in paged.json()["items"]] == [1, 2, 3, 4]
    assert [m["seq"] for m in rest.json()["items"]] == [5, 6]
    assert rest.json()["next_cursor"] is None


def test_messages_with_a_bad_cursor_is_422(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[TEST_USER].key) as client:
        thread_id = chat(client, "hello")["thread_id"]
        responses = [
            client.get(f"/v1/threads/{thread_id}/messages", params={"cursor": cursor})
            for cursor in ("not a cursor!", encode_cursor("seven"), encode_cursor(1, 2))
        ]
    for response in responses:
        error = assert_error(response, 422, "validation_error")
        assert "cursor" in error["message"]


def test_delete_thread_then_it_is_gone(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    url = server.database_url
    with server.client(demo[TEST_USER].key) as client:
        thread_id = chat(client, "Show me all my orders")["thread_id"]
        kept = create_thread(client)["id"]
        assert count_rows(url, thread_id) == (1, 4)
        deleted = client.delete(f"/v1/threads/{thread_id}")
        assert deleted.status_code == 204
        assert deleted.content == b""
        assert_error(client.get(f"/v1/threads/{thread_id}"), 404, "not_found")
        assert_error(client.get(f"/v1/threads/{thread_id}/messages"), 404, "not_found")
        assert_error(client.delete(f"/v1/threads/{thread_id}"), 404, "not_found")
        remaining = [t["id"] for t in client.get("/v1/threads").json()["items"]]
    assert count_rows(url, thread_id) == (0, 0)  # its messages went with it
    assert remaining == [kept]


def test_another_users_thread_is_not_found_everywhere(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    url = server.database_url
    with server.client(demo[ALICE].key) as alice:
        thread_id = chat(alice, "Show me all my orders")["thread_id"]
    with server.client(demo[TEST_USER].key) as intruder:
        responses = {
            "get": intruder.get(f"/v1/threads/{thread_id}"),
            "messages": intruder.get(f"/v1/threads/{thread_id}/messages"),
            "delete": intruder.delete(f"/v1/threads/{thread_id}"),
            "chat": intruder.post(
                "/v1/chat", json={"agent": "support", "message": "Show me all my orders", "thread_id": thread_id}
            ),
            "stream": intruder.post(
                "/v1/chat/stream", json={"agent": "support", "message": "hello", "thread_id": thread_id}
            ),
        }
        never = uuid.uuid4()
        never_existed = intruder.get(f"/v1/threads/{never}")
    for name, response in responses.items():
        error = assert_error(response, 404, "not_found")
        assert thread_id in error["message"], name
    # Indistinguishable from a thread that never existed: "not found", never "forbidden".
    never_message = assert_error(never_existed, 404, "not_found")["message"]
    assert never_message.replace(str(never), thread_id) == responses["get"].json()["error"]["message"]
    # Nothing happened to Alice's thread.
    assert count_rows(url, thread_id) == (1, 4)
    with server.client(demo[ALICE].key) as alice:
        assert alice.get(f"/v1/threads/{thread_id}").json()["turns"] == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/threads/{id}"), ("GET", "/v1/threads/{id}/messages"), ("DELETE", "/v1/threads/{id}")],
)
@pytest.mark.parametrize("bad_id", ["42", "not-a-uuid", "0000"])
def test_non_uuid_thread_id_is_422(
    server: LiveServer, demo: dict[str, DemoUser], method: str, path: str, bad_id: str
) -> None:
    with server.client(demo[TEST_USER].key) as client:
        response = client.request(method, path.format(id=bad_id))
    error = assert_error(response, 422, "validation_error")
    assert "thread_id" in error["message"]
    assert [d["field"] for d in error["details"]] == ["thread_id"]
