"""`OpenAIClient` sends chat completions' messages and tools as given, skipping the SDK's request transform: safe
only while no type under them asks for a transform, and only if what goes on the wire is exactly what the SDK
itself would send. Both are checked here, the second on a real HTTP server (the fake OpenAI one)."""

from __future__ import annotations

import asyncio
import typing
from typing import Any

from openai import AsyncOpenAI, AsyncStream
from openai._utils._transform import PropertyInfo
from openai.types.chat import completion_create_params

from switchboard.agents.openai_client import AS_GIVEN, OpenAIClient
from tests.fakes.openai_server import call, fake_openai_server, reply


def _asks_for_transform(annotation: Any, seen: set[int]) -> list[str]:
    """Where under `annotation` a `PropertyInfo` (a key alias or a value format) is declared."""
    if id(annotation) in seen:
        return []
    seen.add(id(annotation))
    found: list[str] = []
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, PropertyInfo):
            found.append(repr(annotation))
    if typing.is_typeddict(annotation):
        for name, hint in typing.get_type_hints(annotation, include_extras=True).items():
            found += [f"{annotation.__name__}.{name}: {where}" for where in _asks_for_transform(hint, seen)]
    for arg in typing.get_args(annotation):
        found += _asks_for_transform(arg, seen)
    return found


def test_no_type_under_messages_or_tools_asks_for_a_transform() -> None:
    hints = typing.get_type_hints(completion_create_params.CompletionCreateParamsBase, include_extras=True)
    for name in AS_GIVEN:
        assert _asks_for_transform(hints[name], set()) == [], name
    # The check can fail: a type the SDK does transform is found.
    assert _asks_for_transform(typing.Annotated[str, PropertyInfo(alias="x")], set())


MESSAGES: list[Any] = [
    {"role": "system", "content": "You are support."},
    {"role": "user", "content": [{"type": "text", "text": "Show me order 1"}]},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_order", "arguments": '{"order_id": 1}'}}
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": '{"id": 1, "status": "pending"}'},
    {"role": "assistant", "content": "Order 1 is pending."},
    {"role": "user", "content": "Thanks"},
]
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_order",
            "description": "Look up an order.",
            "parameters": {"type": "object", "properties": {"order_id": {"type": "integer"}}, "required": ["order_id"]},
            "strict": True,
        },
    }
]


def test_the_request_on_the_wire_is_the_one_the_sdk_sends() -> None:
    async def send(client: AsyncOpenAI, stream: bool) -> None:
        kwargs: dict[str, Any] = {"extra_body": {"user_tag": "t"}, "temperature": 0.5}
        if stream:
            kwargs["stream_options"] = {"include_usage": True}
        response = await client.chat.completions.create(
            model="fake-model", messages=MESSAGES, tools=TOOLS, stream=stream, **kwargs
        )
        if isinstance(response, AsyncStream):
            async for _ in response:
                pass

    with fake_openai_server(default=reply("ok")) as fake:
        for stream in (False, True):
            for client_type in (AsyncOpenAI, OpenAIClient):
                client = client_type(base_url=fake.base_url, api_key="k", max_retries=0)
                asyncio.run(send(client, stream))
        sdk, ours, sdk_streamed, ours_streamed = fake.completion_requests
    assert ours.body == sdk.body
    assert ours_streamed.body == sdk_streamed.body
    assert ours.body["messages"] == MESSAGES
    assert ours.body["tools"] == TOOLS
    assert ours.body["user_tag"] == "t"  # the caller's own extra_body is kept


def test_a_request_without_tools_sends_none() -> None:
    async def send(client: AsyncOpenAI) -> None:
        await client.chat.completions.create(model="fake-model", messages=MESSAGES[:2])

    with fake_openai_server(default=call("get_order", {"order_id": 1})) as fake:
        asyncio.run(send(OpenAIClient(base_url=fake.base_url, api_key="k", max_retries=0)))
        (request,) = fake.completion_requests
    assert "tools" not in request.body
    assert request.body["messages"] == MESSAGES[:2]
