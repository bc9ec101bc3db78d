"""A test agent that shows what a turn gives the model and its tools: loaded as a plugin
(`SWITCHBOARD_PLUGINS=tests.threads.context_agents:plugin`) by the servers of the context tests.

`peek` is a `FunctionModel`: its first response calls the tool `read_context`, which returns `ctx.deps.context`;
its second answers with what that tool returned. Every request it receives is kept in `SEEN`, by the user's text,
so a test can look at exactly what the model was sent (the server runs in the test's process).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from pydantic_ai import Agent, RunContext
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel

from switchboard.agents.offline import latest_user_prompt
from switchboard.agents.spec import AgentDeps, AgentSpec
from switchboard.plugins import Plugin

SEEN: dict[str, list[list[ModelMessage]]] = {}


def _peek(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    SEEN.setdefault(latest_user_prompt(messages) or "", []).append(list(messages))
    last = messages[-1]
    if isinstance(last, ModelRequest):
        for part in last.parts:
            if isinstance(part, ToolReturnPart):
                return ModelResponse(parts=[TextPart(f"the tool saw {json.dumps(part.content, sort_keys=True)}")])
    return ModelResponse(parts=[ToolCallPart("read_context", {})])


async def _peek_streamed(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[str | DeltaToolCalls]:
    for part in _peek(messages, info).parts:
        if isinstance(part, TextPart):
            yield part.content
        elif isinstance(part, ToolCallPart):
            yield {0: DeltaToolCall(name=part.tool_name, json_args=part.args_as_json_str())}


async def read_context(ctx: RunContext[AgentDeps]) -> dict[str, Any] | None:
    """The thread's application context, as the run's deps carry it."""
    return ctx.deps.context


def plugin() -> Plugin:
    agent: Agent[AgentDeps, str] = Agent(deps_type=AgentDeps, name="peek", tools=[read_context])
    spec = AgentSpec(
        name="peek",
        description="test agent peek",
        agent=agent,
        model=FunctionModel(_peek, stream_function=_peek_streamed),
    )
    return Plugin(name="context-tests", agents=[spec])
