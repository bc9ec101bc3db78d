"""The bench agent and the plugin that registers it.

A trivial offline agent: it answers "ok" through the offline model's machinery (one model request, streamed,
no tools), so the benchmark's figures are the engine's and not a model's. The worker process loads it by its
import path, `PLUGIN_PATH`, through SWITCHBOARD_PLUGINS.
"""

from __future__ import annotations

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo

from switchboard.agents.spec import AgentDeps, AgentSpec
from switchboard.plugins import Plugin

AGENT = "bench"
PLUGIN_PATH = "bench.agent:plugin"


def _reply(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    return ModelResponse(parts=[TextPart("ok")])


def plugin() -> Plugin:
    """The bench agent, loaded by the worker process through SWITCHBOARD_PLUGINS=bench.agent:plugin."""
    agent: Agent[AgentDeps, str] = Agent(deps_type=AgentDeps, name=AGENT)
    spec = AgentSpec(
        name=AGENT, description="Benchmark agent: answers 'ok' (offline).", agent=agent, model="offline", offline=_reply
    )
    return Plugin(name="bench", agents=[spec])
