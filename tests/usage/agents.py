"""Agents for the usage and budget tests (`SWITCHBOARD_PLUGINS=tests.usage.agents:plugin`). Their models are
FunctionModels whose name is a real model's, so Pydantic AI prices them with genai-prices' numbers (`gpt-4o`:
$2.50 in, $10 out per million tokens), or an operator's own model (`house-model`), priced by a setting. Asked for
whole (POST /v1/runs/wait), each response reports exactly 1,000 input and 500 output tokens ($0.0075 on gpt-4o).

- `priced`: answers "priced: <prompt>".
- `spender`: calls its tool `work` again and again (until a limit stops it), then never answers.
- `boss`: asks `priced` (as a tool, a child run), then answers with what it said.
- `house`: answers on `house-model`, which only SWITCHBOARD_MODEL_PRICES prices.
- `free`: the server's model (`offline` in tests): no known price.
- pipeline `pair`: two `priced` steps at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from pydantic_ai import Agent, Tool
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel
from pydantic_ai.usage import RequestUsage

from switchboard.agents.delegation import agent_tool
from switchboard.agents.offline import latest_user_prompt
from switchboard.agents.spec import AgentDeps, AgentSpec
from switchboard.pipelines import PipelineSpec, Step
from switchboard.plugins import Plugin

PRICED_MODEL = "gpt-4o"
HOUSE_MODEL = "house-model"
INPUT_TOKENS, OUTPUT_TOKENS = 1000, 500


def _usage() -> RequestUsage:
    return RequestUsage(input_tokens=INPUT_TOKENS, output_tokens=OUTPUT_TOKENS)


def _tool_return(messages: list[ModelMessage]) -> ToolReturnPart | None:
    for part in messages[-1].parts:
        if isinstance(part, ToolReturnPart):
            return part
    return None


def _priced(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    return ModelResponse(parts=[TextPart(f"priced: {latest_user_prompt(messages)}")], usage=_usage())


def _spender(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    return ModelResponse(parts=[ToolCallPart("work", {"n": len(messages)})], usage=_usage())


def _boss(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    done = _tool_return(messages)
    if done is None:
        call = ToolCallPart("ask_priced", {"request": latest_user_prompt(messages) or ""}, tool_call_id="call-priced")
        return ModelResponse(parts=[call], usage=_usage())
    return ModelResponse(parts=[TextPart(f"boss heard: {done.content}")], usage=_usage())


async def work(n: int) -> str:
    """Do a little work."""
    return f"worked {n}"


Respond = Callable[[list[ModelMessage], AgentInfo], ModelResponse]


def _model(respond: Respond, model_name: str) -> FunctionModel:
    """`respond` asked for whole, and streamed (text whole, tool calls whole; tokens then estimated by Pydantic AI)."""

    async def stream(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[str | DeltaToolCalls]:
        response = respond(messages, info)
        calls: DeltaToolCalls = {}
        for index, part in enumerate(response.parts):
            if isinstance(part, TextPart):
                yield part.content
            elif isinstance(part, ToolCallPart):
                calls[index] = DeltaToolCall(
                    name=part.tool_name, json_args=part.args_as_json_str(), tool_call_id=part.tool_call_id
                )
        if calls:
            yield calls

    return FunctionModel(respond, stream_function=stream, model_name=model_name)


def _agent(name: str, respond: Respond, model_name: str, tools: list[Tool[AgentDeps]] | None = None) -> AgentSpec:
    agent: Agent[AgentDeps, str] = Agent(deps_type=AgentDeps, name=name, tools=tools or [])
    model = _model(respond, model_name)
    return AgentSpec(name=name, description=f"usage test agent {name}", agent=agent, model=model)


def plugin() -> Plugin:
    return Plugin(
        name="usage-tests",
        agents=[
            _agent("priced", _priced, PRICED_MODEL),
            _agent("spender", _spender, PRICED_MODEL, [Tool(work)]),
            _agent("boss", _boss, PRICED_MODEL, [agent_tool("priced")]),
            _agent("house", _priced, HOUSE_MODEL),
            AgentSpec(
                name="free",
                description="usage test agent on the server's model",
                agent=Agent(deps_type=AgentDeps, name="free"),
            ),
        ],
        pipelines=[
            PipelineSpec.parallel("pair", "two priced steps at once", [Step("a", "priced"), Step("b", "priced")])
        ],
    )
