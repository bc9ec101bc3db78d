"""POST /v1/chat and POST /v1/chat/stream: threads are created or continued, history carries references across
turns, bad input is a clear 4xx that changes nothing, and the stream's events arrive in order."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic_ai import Agent
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.spec import AgentDeps, AgentSpec
from switchboard.models import Thread, ThreadMessage
from switchboard.plugins import Plugin
from tests.fixtures.database import run_db
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.http import Event, assert_error, chat, read_events
from tests.fixtures.server import LiveServer

TEST_USER = "test.user@example.com"
CHAT_KEYS = {"thread_id", "run_id", "status", "reply", "model", "usage", "cost_usd", "pending_approvals", "request_id"}


def echo_plugin() -> Plugin:
    """A second agent, so a thread can belong to another agent (loaded with `plugins=[...]`)."""
    return Plugin(
        name="test-echo",
        agents=[AgentSpec(name="echo", description="Generic offline replies.", agent=Agent(deps_type=AgentDeps))],
    )


ECHO_PLUGIN = f"{__name__}:echo_plugin"


def table_counts(url: str) -> tuple[int, int]:
    """(threads, thread messages) in the database."""

    async def work(session: AsyncSession) -> tuple[int, int]:
        threads = await session.scalar(select(func.count()).select_from(Thread))
        messages = await session.scalar(select(func.count()).select_from(ThreadMessage))
        return int(threads or 0), int(messages or 0)

    return run_db(url, work)


def order_status(client: httpx.Client, order_id: int) -> str:
    orders = client.get("/demo/orders")
    assert orders.status_code == 200, orders.text
    status: str = next(o["status"] for o in orders.json() if o["id"] == order_id)
    return status


def stream_events(client: httpx.Client, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """POST /v1/chat/stream and parse the server-sent events into (event, data) pairs."""
    events: list[tuple[str, dict[str, Any]]] = []
    with client.stream("POST", "/v1/chat/stream", json=body) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        name: str | None = None
        data: list[str] = []
        for line in response.iter_lines():
            if line == "":
                if name is not None or data:
                    events.append((name or "message", json.loads("\n".join(data))))
                name, data = None, []
            elif line.startswith(":"):
                continue  # a comment (keepalive)
            elif line.startswith("event:"):
                name = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data.append(line.removeprefix("data:").removeprefix(" "))
        if name is not None or data:
            events.append((name or "message", json.loads("\n".join(data))))
    return events


def test_chat_creates_a_thread_when_none_is_given(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[TEST_USER].key) as client:
        response = client.post("/v1/chat", json={"agent": "support", "message": "Show me all my orders"})
        assert response.status_code == 200, response.text
        body = response.json()
        threads = client.get("/v1/threads").json()["items"]
    assert set(body) == CHAT_KEYS
    uuid.UUID(body["thread_id"])
    assert "Order #1" in body["reply"]
    assert "Order #2" not in body["reply"]  # Alice's order
    assert body["model"] == "offline"
    assert body["usage"]["requests"] == 2
    assert body["usage"]["tool_calls"] == 1
    assert body["request_id"] == response.headers["x-request-id"]
    assert [(t["id"], t["agent"], t["turns"]) for t in threads] == [(body["thread_id"], "support", 1)]


def test_each_chat_without_thread_id_starts_a_new_thread(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[TEST_USER].key) as client:
        first = chat(client, "hello")["thread_id"]
        second = chat(client, "hello")["thread_id"]
    assert first != second
    assert table_counts(server.database_url) == (2, 4)


def test_continuing_a_thread_keeps_its_history(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[TEST_USER].key) as client:
        # Without history, "it" refers to nothing: the agent asks which order, and nothing is cancelled.
        alone = chat(client, "Yes, please cancel it")
        assert "order number" in alone["reply"]
        assert order_status(client, 1) == "pending"

        first = chat(client, "What is the status of order 1?")
        assert "**pending**" in first["reply"]
        assert "Would you like to cancel it" in first["reply"]
        second = chat(client, "Yes, please cancel it", thread_id=first["thread_id"])
        thread = client.get(f"/v1/threads/{first['thread_id']}").json()
        status = order_status(client, 1)
    assert second["thread_id"] == first["thread_id"]
    assert "Order #1 has been successfully cancelled" in second["reply"]
    assert status == "cancelled"
    assert thread["turns"] == 2


def test_prompt_over_the_limit_is_413_before_anything_happens(
    make_server: Callable[..., LiveServer], db_url: str
) -> None:
    server = make_server(max_prompt_chars=50)
    users = seed_demo(server.settings)
    with server.client(users[TEST_USER].key) as client:
        thread_id = chat(client, "hello")["thread_id"]
        before = table_counts(db_url)
        too_long = "Please cancel order 1. " + "x" * 28
        assert len(too_long) == 51
        new_thread = client.post("/v1/chat", json={"agent": "support", "message": too_long})
        existing = client.post("/v1/chat", json={"agent": "support", "message": too_long, "thread_id": thread_id})
        # An unknown agent is that (its limit is the agent's to say): refused as well, changing nothing.
        unknown_agent = client.post("/v1/chat", json={"agent": "nope", "message": too_long})
        after = table_counts(db_url)
        status = order_status(client, 1)
        at_limit = client.post("/v1/chat", json={"agent": "support", "message": "Show me all my orders".ljust(50)})
    assert_error(unknown_agent, 422, "validation_error")
    for response in (new_thread, existing):
        error = assert_error(response, 413, "payload_too_large")
        assert "51" in error["message"]
        assert "50" in error["message"]
        assert "SWITCHBOARD_MAX_PROMPT_CHARS" in error["message"]
    assert after == before  # no thread, no message
    assert status == "pending"  # the cancel tool never ran
    assert at_limit.status_code == 200, at_limit.text


def test_streamed_prompt_over_the_limit_is_a_plain_413(make_server: Callable[..., LiveServer], db_url: str) -> None:
    server = make_server(max_prompt_chars=50)
    users = seed_demo(server.settings)
    with server.client(users[TEST_USER].key) as client:
        response = client.post("/v1/chat/stream", json={"agent": "support", "message": "y" * 51})
    assert not response.headers["content-type"].startswith("text/event-stream")
    error = assert_error(response, 413, "payload_too_large")
    assert "SWITCHBOARD_MAX_PROMPT_CHARS" in error["message"]
    assert table_counts(db_url) == (0, 0)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"agent": "support"}, {"message"}),
        ({"agent": "support", "message": ""}, {"message"}),
        ({"agent": "support", "message": None}, {"message"}),
        ({"message": "hi"}, {"agent"}),
        ({"agent": "", "message": "hi"}, {"agent"}),
        ({}, {"agent", "message"}),
        ({"agent": "support", "message": "hi", "thread_id": "not-a-uuid"}, {"thread_id"}),
    ],
)
@pytest.mark.parametrize("path", ["/v1/chat", "/v1/chat/stream"])
def test_missing_or_empty_fields_are_422_naming_the_field(
    server: LiveServer, demo: dict[str, DemoUser], path: str, body: dict[str, Any], fields: set[str]
) -> None:
    with server.client(demo[TEST_USER].key) as client:
        response = client.post(path, json=body)
    error = assert_error(response, 422, "validation_error")
    assert {d["field"] for d in error["details"]} == fields
    for field in fields:
        assert field in error["message"]
    assert table_counts(server.database_url) == (0, 0)


def test_body_that_is_not_json_is_400(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[TEST_USER].key) as client:
        response = client.post("/v1/chat", content=b"{not json", headers={"content-type": "application/json"})
    error = assert_error(response, 400, "bad_request")
    assert [d["field"] for d in error["details"]] == ["body"]  # not the character offset of the error
    assert "not valid JSON" in error["message"]


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/chat/stream"])
def test_unknown_agent_is_422_naming_agent(server: LiveServer, demo: dict[str, DemoUser], path: str) -> None:
    with server.client(demo[TEST_USER].key) as client:
        response = client.post(path, json={"agent": "nope", "message": "hi"})
    error = assert_error(response, 422, "validation_error")
    assert error["message"].startswith("agent:")
    assert "'nope'" in error["message"]
    assert "support" in error["message"]  # the known agents are listed
    assert error["details"] == [{"field": "agent", "message": "unknown agent"}]
    assert table_counts(server.database_url) == (0, 0)


def test_thread_of_another_agent_is_422(make_server: Callable[..., LiveServer], db_url: str) -> None:
    server = make_server(plugins=[ECHO_PLUGIN])
    users = seed_demo(server.settings)
    with server.client(users[TEST_USER].key) as client:
        echo = chat(client, "hello there", agent="echo")
        assert "offline model" in echo["reply"]
        before = table_counts(db_url)
        responses = [
            client.post(path, json={"agent": "support", "message": "hi", "thread_id": echo["thread_id"]})
            for path in ("/v1/chat", "/v1/chat/stream")
        ]
        after = table_counts(db_url)
    for response in responses:
        error = assert_error(response, 422, "validation_error")
        assert error["message"].startswith("thread_id:")
        assert "'echo'" in error["message"]
        assert error["details"] == [{"field": "thread_id", "message": "belongs to another agent"}]
    assert after == before


def test_streamed_turn_events_in_order_and_stored(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[TEST_USER].key) as client:
        events = stream_events(client, {"agent": "support", "message": "Show me all my orders"})
        names = [name for name, _ in events]
        done = events[-1][1]
        messages = client.get(f"/v1/threads/{done['thread_id']}/messages").json()["items"]

    assert names[0] == "thread"
    assert names[-1] == "done"
    middle = names[1:-1]
    tools = [n for n in middle if n in {"tool_call", "tool_result"}]
    assert tools == ["tool_call", "tool_result"]
    assert middle[: len(tools)] == tools  # tool traffic first…
    assert set(middle[len(tools) :]) == {"text_delta"}  # …then only text
    assert len(middle) - len(tools) > 1  # streamed in pieces, not one blob

    thread = events[0][1]
    assert thread == {"thread_id": done["thread_id"], "run_id": done["run_id"], "agent": "support", "model": "offline"}
    call, result = events[1][1], events[2][1]
    assert call["tool_name"] == result["tool_name"] == "list_orders"
    assert call["tool_call_id"] == result["tool_call_id"]
    assert [o["id"] for o in result["result"]["orders"]] == [1]

    text = "".join(data["delta"] for name, data in events if name == "text_delta")
    assert set(done) == CHAT_KEYS
    assert text == done["reply"]
    assert "Order #1" in text
    assert done["usage"]["tool_calls"] == 1

    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[0]["text"] == "Show me all my orders"
    assert messages[-1]["text"] == done["reply"]
    assert {m["request_id"] for m in messages} == {done["request_id"]}


def test_a_waited_for_turn_asks_the_model_for_its_answer_whole(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    """POST /v1/chat answers with the whole reply, so its run asks the model for each response whole: the run's
    events carry the text as one `text_delta`, where the streamed route has it in pieces. Same reply, same tools
    (the offline model estimates tokens differently for the two, so those may differ)."""
    with server.client(demo[TEST_USER].key) as client:
        whole = chat(client, "Show me all my orders")
        streamed = stream_events(client, {"agent": "support", "message": "Show me all my orders"})[-1][1]
        whole_events = read_events(client, whole["run_id"])
        streamed_events = read_events(client, streamed["run_id"])

    def kinds(events: list[Event]) -> list[str]:
        return [e.type for e in events if e.type in ("tool_call", "tool_result", "text_delta")]

    assert kinds(whole_events) == ["tool_call", "tool_result", "text_delta"]
    assert kinds(streamed_events)[:2] == ["tool_call", "tool_result"]
    assert len(kinds(streamed_events)) > 3
    assert [e.data["delta"] for e in whole_events if e.type == "text_delta"] == [whole["reply"]]
    assert whole["reply"] == streamed["reply"]
    assert (
        (whole["usage"]["requests"], whole["usage"]["tool_calls"])
        == (2, 1)
        == (
            streamed["usage"]["requests"],
            streamed["usage"]["tool_calls"],
        )
    )


def test_streamed_turn_continues_a_thread(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[TEST_USER].key) as client:
        first = chat(client, "What is the status of order 1?")
        events = stream_events(
            client, {"agent": "support", "message": "Yes, please cancel it", "thread_id": first["thread_id"]}
        )
        status = order_status(client, 1)
        thread = client.get(f"/v1/threads/{first['thread_id']}").json()
    kind, opening = events[0]
    assert kind == "thread"
    assert {k: opening[k] for k in ("thread_id", "agent", "model")} == {
        "thread_id": first["thread_id"],
        "agent": "support",
        "model": "offline",
    }
    assert opening["run_id"] == events[-1][1]["run_id"]
    assert [data["tool_name"] for name, data in events if name == "tool_call"] == ["cancel_order"]
    assert events[-1][0] == "done"
    assert "successfully cancelled" in events[-1][1]["reply"]
    assert status == "cancelled"
    assert thread["turns"] == 2


def test_streamed_turn_without_tools(server: LiveServer, demo: dict[str, DemoUser]) -> None:
    with server.client(demo[TEST_USER].key) as client:
        events = stream_events(client, {"agent": "support", "message": "hello"})
    names = [name for name, _ in events]
    assert names[0] == "thread"
    assert names[-1] == "done"
    assert set(names[1:-1]) == {"text_delta"}
    assert "".join(d["delta"] for n, d in events if n == "text_delta") == events[-1][1]["reply"]
