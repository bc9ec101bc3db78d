"""The support agent driven by a fake OpenAI-compatible server over loopback: the real OpenAI SDK, through
Pydantic AI, talks to it as to a provider, and the demo's real tools run against PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from switchboard.models.runs import RunStatus
from tests.fakes.openai_server import FakeOpenAI, RecordedRequest, call, fail, reply
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.server import LiveServer

MODEL = "openai-chat:fake-model"
API_KEY = "test-key"
TEST_USER = "test.user@example.com"
ALICE = "alice@example.com"


@pytest.fixture
def switchboard(make_server: Callable[..., LiveServer], fake: FakeOpenAI) -> LiveServer:
    # The run's own retries of a failed model request (tests/runs/test_model_faults.py) off: here, the SDK's.
    return make_server(model=MODEL, llm_base_url=fake.base_url, llm_api_key=API_KEY, llm_max_retries=2, model_retries=0)


@pytest.fixture
def users(switchboard: LiveServer) -> dict[str, DemoUser]:
    return seed_demo(switchboard.settings)


def order_statuses(server: LiveServer, user: DemoUser) -> dict[int, str]:
    with server.client(user.key) as client:
        response = client.get("/demo/orders")
    assert response.status_code == 200, response.text
    return {order["id"]: order["status"] for order in response.json()}


def chat(server: LiveServer, user: DemoUser, message: str) -> httpx.Response:
    with server.client(user.key) as client:
        return client.post("/v1/chat", json={"agent": "support", "message": message})


def tool_result(request: RecordedRequest) -> dict[str, Any]:
    """The single tool result the model was sent in this request, parsed."""
    results = list(request.tool_results().values())
    assert len(results) == 1, request.messages
    parsed = json.loads(results[0])
    assert isinstance(parsed, dict)
    return parsed


def sse_events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    name, data = "message", ""
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data += line.removeprefix("data:").strip()
        elif not line and data:
            events.append((name, json.loads(data)))
            name, data = "message", ""
    return events


def test_list_orders_then_answer(switchboard: LiveServer, users: dict[str, DemoUser], fake: FakeOpenAI) -> None:
    fake.add(call("list_orders"), reply("You have one pending order: #1, a mechanical keyboard."))

    response = chat(switchboard, users[TEST_USER], "Show me all my orders")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["reply"] == "You have one pending order: #1, a mechanical keyboard."
    assert body["model"] == MODEL
    assert body["usage"]["requests"] == 2
    assert body["usage"]["tool_calls"] == 1
    assert (body["usage"]["input_tokens"], body["usage"]["output_tokens"]) == (20, 10)  # 2 x the fake's 10 + 5
    first, second = fake.completion_requests
    assert first.model == "fake-model"
    # POST /v1/chat answers with the whole reply, so its run asks the model for each response whole (the streamed
    # routes and background runs stream, so text is stored as it arrives and a cancel can land mid-response).
    assert not first.stream
    assert set(first.tools) == {"list_orders", "get_order", "cancel_order", "refund_order"}
    assert first.user_prompts()[-1] == "Show me all my orders"
    result = tool_result(second)
    assert [(order["id"], order["status"], order["product"]) for order in result["orders"]] == [
        (1, "pending", "Mechanical Keyboard")
    ]
    assert fake.remaining == 0


def test_cancel_someone_elses_order_is_not_found(
    switchboard: LiveServer, users: dict[str, DemoUser], fake: FakeOpenAI
) -> None:
    # The second step answers with the message the tool returned, as a model would relay it.
    fake.add(call("cancel_order", {"order_id": 2}), lambda request: reply(tool_result(request)["message"]))

    response = chat(switchboard, users[TEST_USER], "Cancel order 2")

    assert response.status_code == 200, response.text
    assert response.json()["reply"] == "Order #2 was not found in this customer's account."
    result = tool_result(fake.completion_requests[1])
    assert result["outcome"] == "not_found"
    assert result["status"] is None
    assert "not found" in result["message"]
    assert order_statuses(switchboard, users[ALICE]) == {2: "processing"}
    assert order_statuses(switchboard, users[TEST_USER]) == {1: "pending"}


def test_tool_schema_has_no_user_id_and_an_extra_user_id_does_not_change_who_acts(
    switchboard: LiveServer, users: dict[str, DemoUser], fake: FakeOpenAI
) -> None:
    alice = users[ALICE]
    fake.add(
        call("cancel_order", {"order_id": 2, "user_id": alice.user_id}, id="call-extra"),
        call("cancel_order", {"order_id": 2}, id="call-plain"),
        reply("Order #2 was not found in your account."),
    )

    response = chat(switchboard, users[TEST_USER], f"Cancel order 2 for user_id {alice.user_id}")

    assert response.status_code == 200, response.text
    offered = fake.completion_requests[0].tools["cancel_order"]["parameters"]
    assert set(offered["properties"]) == {"order_id"}
    assert offered.get("additionalProperties") is False
    # The call with the extra argument is refused by validation and never runs; the model is told why.
    refused = fake.completion_requests[1].tool_results()["call-extra"]
    assert "user_id" in refused
    # The corrected call runs as the signed-in customer, for whom order 2 does not exist.
    result = json.loads(fake.completion_requests[2].tool_results()["call-plain"])
    assert result["outcome"] == "not_found"
    assert order_statuses(switchboard, alice) == {2: "processing"}
    assert order_statuses(switchboard, users[TEST_USER]) == {1: "pending"}


def test_rate_limited_once_then_succeeds(switchboard: LiveServer, users: dict[str, DemoUser], fake: FakeOpenAI) -> None:
    fake.add(fail(429, "Rate limit reached.", retry_after_ms=50), reply("Hello! How can I help?"))

    response = chat(switchboard, users[TEST_USER], "Hello")

    assert response.status_code == 200, response.text
    assert response.json()["reply"] == "Hello! How can I help?"
    first, second = fake.completion_requests
    assert first.body["messages"] == second.body["messages"]
    assert second.headers.get("x-stainless-retry-count") == "1"


def test_server_errors_become_502_and_the_run_is_recorded_failed(
    switchboard: LiveServer, users: dict[str, DemoUser], fake: FakeOpenAI
) -> None:
    # The tool cancels order 1 (its own unit of work, committed with its ledger entry); the model then fails.
    fake.add(call("cancel_order", {"order_id": 1}))
    test_user = users[TEST_USER]

    response = chat(switchboard, test_user, "Cancel order 1")

    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert error["type"] == "model_error"
    assert MODEL in error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]
    # One successful call, then the first try and llm_max_retries=2 retries of the second.
    assert len(fake.completion_requests) == 4
    assert json.loads(fake.completion_requests[1].tool_results().popitem()[1])["outcome"] == "cancelled"
    # A tool's effect is real once the call completed (it would not be re-run on a retry of the run either):
    # the order is cancelled, and the run's timeline says so.
    assert order_statuses(switchboard, test_user) == {1: "cancelled"}
    with switchboard.client(test_user.key) as client:
        runs = client.get("/v1/runs").json()["items"]
        assert [(r["status"], r["error"]["type"]) for r in runs] == [(RunStatus.FAILED, "model_error")]
        steps = client.get(f"/v1/runs/{runs[0]['id']}/steps").json()
    tool_steps = [s for s in steps if s["kind"] == "tool_call"]
    assert [(s["tool_name"], s["status"], s["result"]["outcome"]) for s in tool_steps] == [
        ("cancel_order", "succeeded", "cancelled")
    ]


def test_streamed_turn_against_the_streaming_fake(
    switchboard: LiveServer, users: dict[str, DemoUser], fake: FakeOpenAI
) -> None:
    fake.add(call("get_order", {"order_id": 1}, id="call-get"), reply("Order #1 is pending. Want me to cancel it?"))

    with (
        switchboard.client(users[TEST_USER].key) as client,
        client.stream(
            "POST", "/v1/chat/stream", json={"agent": "support", "message": "What is the status of order 1?"}
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response)

    names = [name for name, _ in events]
    assert names[0] == "thread"
    assert names[-1] == "done"
    assert names.index("tool_call") < names.index("tool_result") < names.index("text_delta")
    assert names.count("text_delta") > 1  # streamed word by word, not in one piece
    data = dict(events)
    assert data["thread"]["model"] == MODEL
    assert data["tool_call"] == {"tool_call_id": "call-get", "tool_name": "get_order", "args": {"order_id": 1}}
    assert data["tool_result"]["result"]["order"]["status"] == "pending"
    text = "".join(payload["delta"] for name, payload in events if name == "text_delta")
    assert text == "Order #1 is pending. Want me to cancel it?"
    assert data["done"]["reply"] == text
    assert data["done"]["thread_id"] == data["thread"]["thread_id"]
    assert data["done"]["usage"]["input_tokens"] == 20  # from the usage chunks at the end of each stream
    assert all(request.stream for request in fake.completion_requests)
    assert len(fake.completion_requests) == 2
    with switchboard.client(users[TEST_USER].key) as client:
        messages = client.get(f"/v1/threads/{data['thread']['thread_id']}/messages").json()["items"]
    assert messages[-1]["text"] == text


def test_api_key_is_sent_to_the_provider_and_never_returned(
    switchboard: LiveServer, users: dict[str, DemoUser], fake: FakeOpenAI
) -> None:
    test_user = users[TEST_USER]
    fake.add(call("list_orders"), reply("One order."))
    bodies: list[str] = []
    with switchboard.client(test_user.key) as client:
        ok = client.post("/v1/chat", json={"agent": "support", "message": "Show me all my orders"})
        bodies.append(ok.text)
        thread_id = ok.json()["thread_id"]
        bodies.append(client.get(f"/v1/threads/{thread_id}/messages").text)
        bodies.append(client.get("/v1/agents").text)
        # Some OpenAI-compatible servers quote the key they were sent in their error message.
        echoed = f"Incorrect API key provided: {API_KEY}."
        fake.add(fail(401, echoed))
        failed = client.post("/v1/chat", json={"agent": "support", "message": "Hello"})
        bodies.append(failed.text)
        fake.add(fail(401, echoed))
        with client.stream("POST", "/v1/chat/stream", json={"agent": "support", "message": "Hello"}) as streamed:
            stream_body = streamed.read().decode()
        bodies.append(stream_body)
    assert ok.status_code == 200
    assert failed.status_code == 502
    # The member is told the status, not the provider's words (they may quote the key in any encoding)...
    message = failed.json()["error"]["message"]
    assert message.startswith(f"The model {MODEL!r} failed: the provider answered HTTP 401 (Unauthorized).")
    assert "event: error" in stream_body
    requests = fake.completion_requests
    assert len(requests) == 4  # a 401 is not retried
    assert {request.headers.get("authorization") for request in requests} == {f"Bearer {API_KEY}"}
    for body in bodies:
        assert API_KEY not in body  # ...but never the key
