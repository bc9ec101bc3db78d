"""Agents for the tool-door and tool-limit tests, loaded as a plugin (`tests.tools.agents:plugin`). They have no
model of their own: they run on the server's model (a fake OpenAI server where a test drives a run; the door
makes no model request).

- `toolbox`: `whoami` (anyone), `bump_effect` (writes a row in its unit of work), `users_count` (admins only),
  `sleepy` (writes a row, then sleeps past its 0.3 s limit when asked to), `picky` (raises ModelRetry, ValueError
  or RuntimeError on purpose), `run_only` (not door-callable), `payout` (needs approval), `describe`.
- `other_box`: a different `describe` (ambiguous across agents) and the same `whoami` (shared).
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic_ai import Agent, ModelRetry, RunContext, Tool
from sqlalchemy import text

from switchboard.agents.spec import AgentDeps, AgentSpec, tool_access
from switchboard.plugins import Plugin

TOOL_EFFECTS = "switchboard_tests.tool_effects"
CREATE_TOOL_EFFECTS = (
    "CREATE SCHEMA IF NOT EXISTS switchboard_tests",
    f"CREATE TABLE IF NOT EXISTS {TOOL_EFFECTS} (key text PRIMARY KEY, user_id integer NOT NULL)",
)


async def _write(ctx: RunContext[AgentDeps], key: str) -> None:
    await ctx.deps.session.execute(
        text("INSERT INTO switchboard_tests.tool_effects (key, user_id) VALUES (:key, :user)"),
        {"key": key, "user": ctx.deps.user.user_id},
    )


async def whoami(ctx: RunContext[AgentDeps]) -> dict[str, Any]:
    """Who the tool acts for."""
    return {"user_id": ctx.deps.user.user_id, "email": ctx.deps.user.email, "request_id": ctx.deps.request_id}


async def bump_effect(ctx: RunContext[AgentDeps], key: str) -> dict[str, Any]:
    """Record `key` for the current user.

    Args:
        key: A name for the effect.
    """
    await _write(ctx, key)
    return {"recorded": key}


async def users_count(ctx: RunContext[AgentDeps]) -> int:
    """How many users there are (admins only)."""
    return int(await ctx.deps.session.scalar(text("SELECT count(*) FROM users")) or 0)


async def sleepy(ctx: RunContext[AgentDeps], key: str, seconds: float = 0.0) -> str:
    """Record `key`, then wait `seconds`."""
    await _write(ctx, key)
    await ctx.deps.session.flush()
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


async def picky(ctx: RunContext[AgentDeps], n: int) -> int:
    """Fails on purpose: n < 0 asks for other arguments, n == 0 is refused, n == 13 is a bug."""
    await _write(ctx, f"picky-{n}")
    if n < 0:
        raise ModelRetry("n must not be negative")
    if n == 0:
        raise ValueError("n must not be zero")
    if n == 13:
        raise RuntimeError("secret internal detail")
    return n * 2


async def run_only(ctx: RunContext[AgentDeps]) -> str:
    """Only a model in a run may call this."""
    return "ran"


async def payout(ctx: RunContext[AgentDeps], amount: int) -> str:
    """Pay `amount` (a person approves each payout)."""
    await _write(ctx, f"payout-{amount}")
    return f"paid {amount}"


async def describe(ctx: RunContext[AgentDeps]) -> str:
    """Describe the toolbox."""
    return "toolbox"


async def describe_other(ctx: RunContext[AgentDeps]) -> str:
    """Describe the other box."""
    return "other box"


def _agent(name: str, tools: list[Tool[AgentDeps]]) -> AgentSpec:
    agent: Agent[AgentDeps, str] = Agent(deps_type=AgentDeps, name=name, tools=tools)
    return AgentSpec(name=name, description=f"tool tests: {name}", agent=agent)


def plugin() -> Plugin:
    return Plugin(
        name="tool-door-tests",
        agents=[
            _agent(
                "toolbox",
                [
                    Tool(whoami),
                    Tool(bump_effect, metadata=tool_access(idempotent=False)),
                    Tool(users_count, metadata=tool_access(roles=("admin",))),
                    Tool(sleepy, metadata=tool_access(timeout_seconds=0.3, idempotent=False)),
                    Tool(picky),
                    Tool(run_only, metadata=tool_access(door=False)),
                    Tool(payout, requires_approval=True),
                    Tool(describe),
                ],
            ),
            _agent("other_box", [Tool(whoami), Tool(describe_other, name="describe")]),
        ],
    )
