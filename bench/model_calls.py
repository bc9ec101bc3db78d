"""The two model calls of a support-agent turn, made directly with the OpenAI SDK: the prompt with the
support agent's instructions and tools → a tool call; its result → the answer. The reference app makes them per
turn, and the bench makes them itself at one client, as the floor under every scenario's latency."""

from __future__ import annotations

import json
from typing import Any

from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionFunctionToolParam, ChatCompletionMessageParam

from switchboard.demo.agent import INSTRUCTIONS

TOOL_RESULT = json.dumps({"orders": []})  # what list_orders answers for a customer without orders


def _tool(name: str, description: str, *, order_id: bool) -> ChatCompletionFunctionToolParam:
    properties = {"order_id": {"type": "integer", "description": "The order number."}} if order_id else {}
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": ["order_id"] if order_id else [],
        "additionalProperties": False,
    }
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


# The support agent's four tools, as Pydantic AI describes them to the model (src/switchboard/demo/tools.py).
TOOLS = [
    _tool("list_orders", "List the current customer's orders with their status, product and date.", order_id=False),
    _tool("get_order", "Look up one of the current customer's orders by its number.", order_id=True),
    _tool("cancel_order", "Cancel one of the current customer's orders.", order_id=True),
    _tool("refund_order", "Refund one of the current customer's shipped or delivered orders.", order_id=True),
]


def model_client(base_url: str) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=base_url, api_key="not-needed", max_retries=0)


async def _streamed(client: AsyncOpenAI, messages: list[ChatCompletionMessageParam]) -> tuple[str, list[Any]]:
    """One streamed completion: its text, and its tool calls as (id, name, arguments)."""
    stream = await client.chat.completions.create(
        model="fake-model", messages=messages, tools=TOOLS, stream=True, stream_options={"include_usage": True}
    )
    text: list[str] = []
    calls: dict[int, list[str]] = {}
    async for chunk in stream:
        for choice in chunk.choices:
            if choice.delta.content:
                text.append(choice.delta.content)
            for call in choice.delta.tool_calls or []:
                entry = calls.setdefault(call.index, ["", "", ""])
                entry[0] += call.id or ""
                if call.function is not None:
                    entry[1] += call.function.name or ""
                    entry[2] += call.function.arguments or ""
    return "".join(text), [tuple(calls[index]) for index in sorted(calls)]


async def _whole(client: AsyncOpenAI, messages: list[ChatCompletionMessageParam]) -> tuple[str, list[Any]]:
    """One completion asked for whole (not streamed): its text, and its tool calls as (id, name, arguments)."""
    completion = await client.chat.completions.create(model="fake-model", messages=messages, tools=TOOLS)
    message = completion.choices[0].message
    calls = [
        (call.id, call.function.name, call.function.arguments)
        for call in message.tool_calls or []
        if call.type == "function"
    ]
    return message.content or "", calls


async def two_calls(client: AsyncOpenAI, prompt: str, *, stream: bool = False) -> str:
    """A turn's two model calls; returns the answer. Asked for whole by default, as Switchboard asks for them on
    a turn whose client waits for the whole reply (POST /v1/chat, /api/v1/chat): like for like."""
    call = _streamed if stream else _whole
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": INSTRUCTIONS},
        {"role": "user", "content": prompt},
    ]
    _, calls = await call(client, messages)
    messages.append(
        {
            "role": "assistant",
            "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
                for call_id, name, arguments in calls
            ],
        }
    )
    messages += [{"role": "tool", "tool_call_id": call_id, "content": TOOL_RESULT} for call_id, _, _ in calls]
    answer, _ = await call(client, messages)
    return answer
