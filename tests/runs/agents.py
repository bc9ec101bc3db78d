"""Agents for the run-engine tests, loaded as a plugin (`SWITCHBOARD_PLUGINS=tests.runs.agents:plugin`) by test
servers and by worker subprocesses alike. Their models are `FunctionModel`s: scripted, deterministic, no LLM.

Prompts steer them:
- `echo`: answers "echo: <prompt>" word by word.
- `slow`: "words=N delay=S" streams N words, S seconds apart (for cancel, timeout and crash tests).
- `counter`: calls `bump(key=<prompt>)` (adds 1 to `switchboard_tests.effects` in the tool's unit of work, and one line
  to the file `SWITCHBOARD_TEST_EFFECTS_LOG` outside it), then streams "bumped <key> to N" slowly when the
  prompt ends with "slowly" (a crash window after the tool call).
- `emailer`: calls `send_email` (declared non-idempotent), which logs a line to the effects file, then sleeps
  `delay=S` before returning (a crash window inside a non-idempotent call).
- `refunder`: calls `refund(amount=<int in prompt>)`, which requires approval, then reports the tool's answer.
- `solo`: like echo with "words=N delay=S", limited to one run at a time with on_busy=queue.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from typing import Any

from pydantic_ai import Agent, RunContext, Tool
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel
from sqlalchemy import text

from switchboard.agents.offline import latest_user_prompt
from switchboard.agents.spec import AgentDeps, AgentSpec, ConcurrencyLimit
from switchboard.plugins import Plugin

# In a schema of its own, so the schema checks of tests/test_migrations.py (the public schema) never see it.
EFFECTS_TABLE = "switchboard_tests.effects"
CREATE_EFFECTS = (
    "CREATE SCHEMA IF NOT EXISTS switchboard_tests",
    f"CREATE TABLE IF NOT EXISTS {EFFECTS_TABLE} (key text PRIMARY KEY, count integer NOT NULL)",
)


def _number(prompt: str, name: str, default: float) -> float:
    match = re.search(rf"{name}=([0-9.]+)", prompt)
    return float(match.group(1)) if match else default


def _last_tool_return(messages: list[ModelMessage]) -> ToolReturnPart | None:
    last = messages[-1]
    if isinstance(last, ModelRequest):
        for part in last.parts:
            if isinstance(part, ToolReturnPart):
                return part
    return None


def _log_effect(line: str) -> None:
    path = os.environ.get("SWITCHBOARD_TEST_EFFECTS_LOG")
    if path:
        with open(path, "a") as handle:
            handle.write(line + "\n")


def scripted(plan: Any, name: str) -> FunctionModel:
    """A FunctionModel from `plan(messages) -> (text, delay_between_words) | ToolCallPart`, streamed."""

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        step = plan(messages)
        if isinstance(step, ToolCallPart):
            return ModelResponse(parts=[step])
        return ModelResponse(parts=[TextPart(step[0])])

    async def stream(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[str | DeltaToolCalls]:
        step = plan(messages)
        if isinstance(step, ToolCallPart):
            yield {0: DeltaToolCall(name=step.tool_name, json_args=step.args_as_json_str(), tool_call_id=None)}
            return
        reply, delay = step
        for index, word in enumerate(reply.split(" ")):
            if index and delay:
                await asyncio.sleep(delay)
            yield word if index == 0 else " " + word

    return FunctionModel(respond, stream_function=stream, model_name=name)


def _echo(messages: list[ModelMessage]) -> tuple[str, float]:
    return f"echo: {latest_user_prompt(messages) or ''}", 0.0


def _slow(messages: list[ModelMessage]) -> tuple[str, float]:
    prompt = latest_user_prompt(messages) or ""
    words = int(_number(prompt, "words", 5))
    return " ".join(f"w{i}" for i in range(1, words + 1)), _number(prompt, "delay", 0.1)


def _counter(messages: list[ModelMessage]) -> ToolCallPart | tuple[str, float]:
    prompt = latest_user_prompt(messages) or ""
    done = _last_tool_return(messages)
    if done is None:
        return ToolCallPart("bump", {"key": prompt.split()[0]})
    reply = f"bumped {done.content}"
    return (reply + " and that is all for now", 0.3) if prompt.endswith("slowly") else (reply, 0.0)


def _emailer(messages: list[ModelMessage]) -> ToolCallPart | tuple[str, float]:
    prompt = latest_user_prompt(messages) or ""
    done = _last_tool_return(messages)
    if done is None:
        return ToolCallPart("send_email", {"to": "ops@example.com", "delay": _number(prompt, "delay", 0.0)})
    return f"email result: {done.content}", 0.0


def _refunder(messages: list[ModelMessage]) -> ToolCallPart | tuple[str, float]:
    prompt = latest_user_prompt(messages) or ""
    done = _last_tool_return(messages)
    if done is None:
        return ToolCallPart("refund", {"amount": int(_number(prompt, "amount", 10))})
    return f"refund result: {done.content}", 0.0


async def bump(ctx: RunContext[AgentDeps], key: str) -> str:
    """Add one to the counter `key`."""
    _log_effect(f"bump {key} run={ctx.deps.run_id}")
    count = await ctx.deps.session.scalar(
        text(
            "INSERT INTO switchboard_tests.effects AS e (key, count) VALUES (:key, 1) "
            "ON CONFLICT (key) DO UPDATE SET count = e.count + 1 RETURNING count"
        ),
        {"key": key},
    )
    return f"{key} to {count}"


async def send_email(ctx: RunContext[AgentDeps], to: str, delay: float) -> str:
    """Send an email (an outside effect: cannot be taken back, so not idempotent)."""
    _log_effect(f"email {to} run={ctx.deps.run_id}")
    await asyncio.sleep(delay)
    return f"sent to {to}"


async def refund(ctx: RunContext[AgentDeps], amount: int) -> str:
    """Refund `amount` to the customer (needs a person's approval)."""
    _log_effect(f"refund {amount} run={ctx.deps.run_id}")
    return f"refunded {amount}"


def _spec(name: str, plan: Any, tools: list[Tool[AgentDeps]] | None = None, **extra: Any) -> AgentSpec:
    agent: Agent[AgentDeps, str] = Agent(deps_type=AgentDeps, name=name, tools=tools or [])
    return AgentSpec(name=name, description=f"test agent {name}", agent=agent, model=scripted(plan, name), **extra)


def plugin() -> Plugin:
    return Plugin(
        name="run-engine-tests",
        agents=[
            _spec("echo", _echo),
            _spec("slow", _slow),
            _spec("counter", _counter, [Tool(bump)]),
            _spec("emailer", _emailer, [Tool(send_email, metadata={"idempotent": False})]),
            _spec("refunder", _refunder, [Tool(refund, requires_approval=True)]),
            _spec("solo", _slow, concurrency=ConcurrencyLimit(max_runs=1, on_busy="queue")),
        ],
    )
