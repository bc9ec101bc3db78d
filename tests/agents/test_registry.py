"""What the registry refuses at start-up, so that a misconfigured plugin fails before its first run."""

from __future__ import annotations

import pytest

from switchboard.agents.registry import AgentRegistry
from switchboard.kit.errors import ValidationFailed
from switchboard.pipelines import PipelineSpec, Step
from switchboard.settings import Settings
from tests.fixtures.agents import PIPELINES, plugin

SETTINGS = Settings(_env_file=None)


def test_pipelines_run_by_name_beside_agents() -> None:
    agents = plugin().agents
    registry = AgentRegistry(agents, SETTINGS, PIPELINES)
    assert "trio" in registry
    assert isinstance(registry.require_runnable("trio"), PipelineSpec)
    assert registry.require_runnable("echo").spec.name == "echo"  # type: ignore[union-attr]
    assert set(registry.names()) == {spec.name for spec in agents} | {p.name for p in PIPELINES}
    with pytest.raises(ValidationFailed, match=r"known agents and pipelines: .*trio"):
        registry.require_runnable("nobody")
    with pytest.raises(ValidationFailed):
        registry.require("trio")  # a pipeline is no agent: it cannot be a step, nor called as a tool


def test_a_pipeline_over_an_unknown_agent_is_refused() -> None:
    broken = PipelineSpec.sequential("broken", "a step of nobody", [Step("only", "nobody")])
    with pytest.raises(ValueError, match="pipeline 'broken' has steps of unknown agents: nobody"):
        AgentRegistry(plugin().agents, SETTINGS, [broken])


def test_a_pipeline_named_like_an_agent_is_refused() -> None:
    clash = PipelineSpec.sequential("echo", "named like an agent", [Step("only", "slow")])
    with pytest.raises(ValueError, match="pipeline 'echo': an agent or another pipeline has that name"):
        AgentRegistry(plugin().agents, SETTINGS, [clash])


def test_an_agent_tool_for_an_unknown_agent_is_refused() -> None:
    without_echo = [spec for spec in plugin().agents if spec.name != "echo"]
    with pytest.raises(ValueError, match="agent 'manager' has agent tools for unknown agents: echo"):
        AgentRegistry(without_echo, SETTINGS)


def test_steps_need_unique_names() -> None:
    with pytest.raises(ValueError, match="step names must be unique"):
        PipelineSpec.parallel("twice", "two steps named alike", [Step("a", "echo"), Step("a", "slow")])
