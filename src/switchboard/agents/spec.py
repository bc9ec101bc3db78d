"""What a plugin hands Switchboard to define an agent, and what the agent's tools receive."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models import Model
from pydantic_ai.models.function import AgentInfo
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.principal import Principal
from switchboard.kit.clock import utc_now

# Tools declare who may call them, and their time limit, with `tool_access` (re-exported here, beside AgentDeps).
from switchboard.tools.access import DELEGATE_TO as DELEGATE_TO
from switchboard.tools.access import ToolAccess as ToolAccess
from switchboard.tools.access import tool_access as tool_access
from switchboard.tools.settings import ScreenMode

OfflineRules = Callable[[list[ModelMessage], AgentInfo], ModelResponse]
"""Deterministic rules that stand in for an LLM: they read the messages so far and answer with a response."""


current_tool_session: ContextVar[AsyncSession | None] = ContextVar("switchboard_tool_session", default=None)
"""The unit of work of the tool call in progress; set by the run engine around each tool call."""


@dataclass
class AgentDeps:
    """The run's dependencies, given to every tool as `ctx.deps`.

    `user` is the authenticated principal: tools act only within it and never take a user id from the model.
    `context` is the thread's application context, and `progress(...)` reports progress to the run's followers.
    `session` is the tool call's own unit of work: the engine commits it together with the call's recorded
    result, so a tool's database changes take effect exactly once even if the worker dies mid-call. Tools flush
    at most, never commit.
    """

    user: Principal
    request_id: str | None = None
    run_id: uuid.UUID | None = None
    now: Callable[[], datetime] = field(default=utc_now)
    # The thread's application context as the client last set it (`PATCH /v1/threads/{id}`): data about what the
    # user is looking at, never a grant of rights — a tool still checks everything against `user`.
    context: dict[str, Any] | None = None
    # Where `progress` sends its events: the run's event stream (set by the run engine).
    emit: Callable[[str, dict[str, Any]], None] | None = None

    def progress(self, stage: str, **data: Any) -> None:
        """Tell the run's followers what the agent is doing: `GET /v1/runs/{id}/events` shows a `progress` event
        `{"stage": stage, **data}` (one event type, so a tool can never pass for the engine's own events such as
        `end`); outside a run, nothing."""
        if self.emit is not None:
            self.emit("progress", {"stage": stage, **data})

    @property
    def session(self) -> AsyncSession:
        session = current_tool_session.get()
        if session is None:
            raise RuntimeError("ctx.deps.session is only available inside a tool call run by the run engine")
        return session


@dataclass(frozen=True)
class ConcurrencyLimit:
    """At most `max_runs` runs of the agent at once (queued and running count; paused ones do not).

    `on_busy="queue"`: further runs wait in the queue for a free slot.
    `on_busy="reject"`: creating a run while the agent is full is a 409, decided under a lock, so of N
    simultaneous requests exactly `max_runs - active` are accepted.
    """

    max_runs: int
    on_busy: Literal["queue", "reject"] = "queue"
    # Agents naming the same group share one limit (seed 004: one run at a time across both of its agents).
    group: str | None = None

    def __post_init__(self) -> None:
        if self.max_runs < 1:
            raise ValueError("ConcurrencyLimit.max_runs must be at least 1")


@dataclass(frozen=True)
class HistoryWindow:
    """How much of a thread's earlier history a run sends to the model (the thread keeps all of it).

    The most recent messages, at most `max_messages` of them and, with `max_tokens`, at most about that many
    tokens (estimated at 4 characters of stored JSON a token). The window is cut only between turns, so a
    tool call is never separated from its result, and the thread's system prompt, if it has one, is kept.
    A turn's own messages (a run resumed mid-way) always count in full. `None` for both: no limit.
    Seed 001: "truncate messages to fit context windows; keep system prompt and recent messages".
    """

    max_messages: int | None = 100
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_messages", "max_tokens"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"HistoryWindow.{name} must be at least 1 (or None, for no limit)")


CHARS_PER_TOKEN = 4  # a rough estimate, without a tokenizer: what `HistoryWindow.max_tokens` is counted in


@dataclass(frozen=True)
class AgentSpec:
    """A named agent: the Pydantic AI agent (built with `deps_type=AgentDeps` and no model of its own), a
    description, an optional model (a model string, or a Pydantic AI `Model` object such as a `FunctionModel`),
    optional offline rules for the `offline` model, an optional concurrency limit, how much of a thread's
    history each run sends to the model (`history`), and the longest input it takes (`max_input_chars`)."""

    name: str
    description: str
    agent: Agent[AgentDeps, Any]
    model: str | Model | None = None
    offline: OfflineRules | None = None
    concurrency: ConcurrencyLimit | None = None
    history: HistoryWindow = field(default_factory=HistoryWindow)
    # The longest input a run of it takes, in characters; None: SWITCHBOARD_MAX_PROMPT_CHARS.
    max_input_chars: int | None = None
    # The input screen for a run's input (`safety.screen`): "off", "flag" (log and count), "block" (422
    # input_rejected); None: SWITCHBOARD_INPUT_SCREEN. A tripwire, never the defence: see `safety.screen`.
    input_screen: ScreenMode | None = None

    def delegates_to(self) -> list[str]:
        """The agents this one calls as tools (`agents.delegation.agent_tool`)."""
        return [str(tool.metadata[DELEGATE_TO]) for tool in self._tools() if (tool.metadata or {}).get(DELEGATE_TO)]

    def tools(self) -> list[Any]:
        """The agent's function tools (Pydantic AI `Tool`s), as its toolsets hold them."""
        return self._tools()

    def _tools(self) -> list[Any]:
        tools: list[Any] = []
        for toolset in self.agent.toolsets:
            found = getattr(toolset, "tools", None)
            if isinstance(found, dict):
                tools.extend(found.values())
        return tools

    def tool_names(self) -> list[str]:
        return sorted(str(tool.name) for tool in self._tools())
