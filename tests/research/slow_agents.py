"""A test plugin: the researcher with a pause before each of its offline model's steps, so a test can kill the
worker running it between two searches. Same agent, same tools, same rules; only slower."""

from __future__ import annotations

import time

from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo

from switchboard.agents.spec import AgentSpec
from switchboard.plugins import Plugin
from switchboard.research.agent import build_researcher_agent
from switchboard.research.offline_rules import researcher_rules

NAME = "slow-researcher"
STEP_SECONDS = 0.4


def slow_rules(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    time.sleep(STEP_SECONDS)  # run in a thread by FunctionModel: the worker's loop (and its lease) go on
    return researcher_rules(messages, info)


def plugin() -> Plugin:
    spec = AgentSpec(
        name=NAME,
        description="The researcher, pausing before each step (tests only).",
        agent=build_researcher_agent(),
        offline=slow_rules,
    )
    return Plugin(name="slow-research", agents=[spec])
