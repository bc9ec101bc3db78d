"""The agent of the rate-limit tests, as a plugin (`tests.limits.agents:plugin`): `spender` makes `requests=K` model
requests (a `noop` tool call each, then a reply), each reporting `tokens=N` tokens of usage when asked for whole
(POST /v1/runs/wait), so a test knows what its user's tokens-per-minute bucket is charged. Streamed (a background
run), its usage is Pydantic AI's estimate for a FunctionModel: 50 input tokens and a few for the call."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from pydantic_ai import Agent, Tool
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel
from pydantic_ai.usage import RequestUsage

from switchboard.agents.offline import latest_user_prompt
from switchboard.agents.spec import AgentDeps, AgentSpec
from switchboard.plugins import Plugin


def _number(prompt: str, name: str, default: int) -> int:
    match = re.search(rf"{name}=([0-9]+)", prompt)
    return int(match.group(1)) if match else default


def _step(messages: list[ModelMessage]) -> tuple[int, int, int]:
    """(tokens per response, requests in all, the request this is, from 1)."""
    prompt = latest_user_prompt(messages) or ""
    calls = sum(1 for m in messages if isinstance(m, ModelRequest) for p in m.parts if isinstance(p, ToolReturnPart))
    return _number(prompt, "tokens", 10), _number(prompt, "requests", 1), calls + 1


def _call(n: int) -> ToolCallPart:
    return ToolCallPart("noop", {"n": n}, tool_call_id=f"call-{n}")


async def _whole(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    tokens, requests, this = _step(messages)
    usage = RequestUsage(input_tokens=tokens - 1, output_tokens=1)
    if this < requests:
        return ModelResponse(parts=[_call(this)], usage=usage)
    return ModelResponse(parts=[TextPart(f"spent {requests} requests")], usage=usage)


async def _streamed(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[str | DeltaToolCalls]:
    _, requests, this = _step(messages)
    if this < requests:
        yield {0: DeltaToolCall(name="noop", json_args=f'{{"n": {this}}}', tool_call_id=f"call-{this}")}
        return
    yield f"spent {requests} requests"


async def noop(n: int) -> str:
    """Does nothing."""
    return f"noop {n}"


def plugin() -> Plugin:
    agent: Agent[AgentDeps, str] = Agent(deps_type=AgentDeps, name="spender", tools=[Tool(noop)])
    model = FunctionModel(_whole, stream_function=_streamed, model_name="spender")
    spec = AgentSpec(name="spender", description="spends tokens", agent=agent, model=model)
    return Plugin(name="limits-tests", agents=[spec])
