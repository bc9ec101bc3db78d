"""The `offline` model: deterministic rules wrapped as a Pydantic AI model, so an agent's real tools run.

It is rules, not intelligence. It exists so Switchboard works (and is tested) with no LLM at all; every reply
names the model `offline`, and the server says at start-up that this model is rules, not an LLM.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, ToolCallPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel

from switchboard.agents.spec import OfflineRules
from switchboard.threads.context import user_text

OFFLINE_MODEL_NAME = "offline"


def generic_rules(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """For agents without rules of their own: say plainly what this model is."""
    prompt = latest_user_prompt(messages) or ""
    return ModelResponse(
        parts=[
            TextPart(
                "I am the offline model: deterministic rules, not an LLM, and this agent has no offline rules. "
                f'I received: "{prompt[:200]}". Set SWITCHBOARD_MODEL to a real model for real answers.'
            )
        ]
    )


def offline_model(rules: OfflineRules | None) -> FunctionModel:
    chosen = rules or generic_rules

    async def stream(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[str | DeltaToolCalls]:
        # Streams the same response the rules give, text word by word, tool calls whole.
        response = chosen(messages, info)
        calls: DeltaToolCalls = {}
        for index, part in enumerate(response.parts):
            if isinstance(part, TextPart):
                for piece in re.findall(r"\S+\s*|\s+", part.content):
                    yield piece
            elif isinstance(part, ToolCallPart):
                calls[index] = DeltaToolCall(
                    name=part.tool_name, json_args=part.args_as_json_str(), tool_call_id=part.tool_call_id
                )
        if calls:
            yield calls

    return FunctionModel(chosen, stream_function=stream, model_name=OFFLINE_MODEL_NAME)


def latest_user_prompt(messages: list[ModelMessage]) -> str | None:
    """The user's own words in the latest prompt (without the thread's context block, see `threads.context`)."""
    for message in reversed(messages):
        if isinstance(message, ModelRequest):
            for part in message.parts:
                if isinstance(part, UserPromptPart) and (text := user_text(part.content)) is not None:
                    return text
    return None
