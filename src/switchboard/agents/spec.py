"""What a plugin hands Switchboard to define an agent, and what the agent's tools receive."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.principal import Principal

OfflineRules = Callable[[list[ModelMessage], AgentInfo], ModelResponse]
"""Deterministic rules that stand in for an LLM: they read the messages so far and answer with a response."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AgentDeps:
    """The run's dependencies, given to every tool as `ctx.deps`.

    `user` is the authenticated principal: tools act only within it and never take a user id from the model.
    `session` is the run's unit of work; tools flush at most, the caller commits.
    """

    session: AsyncSession
    user: Principal
    request_id: str | None = None
    now: Callable[[], datetime] = field(default=utc_now)


@dataclass(frozen=True)
class AgentSpec:
    """A named agent: the Pydantic AI agent (built with `deps_type=AgentDeps` and no model of its own),
    a description, an optional model string, and optional offline rules for the `offline` model."""

    name: str
    description: str
    agent: Agent[AgentDeps, Any]
    model: str | None = None
    offline: OfflineRules | None = None

    def tool_names(self) -> list[str]:
        names: list[str] = []
        for toolset in self.agent.toolsets:
            tools = getattr(toolset, "tools", None)
            if isinstance(tools, dict):
                names.extend(str(name) for name in tools)
        return sorted(names)
