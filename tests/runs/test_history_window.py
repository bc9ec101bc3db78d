"""An agent's `HistoryWindow`: a run sends the model only the thread's recent turns, cut between turns (a tool
call never without its result), with the thread's system prompt kept, while the thread stores everything."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic_ai import Agent, RunContext
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    SystemPromptPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)

from switchboard.agents.spec import AgentDeps, AgentSpec, HistoryWindow
from switchboard.plugins import Plugin
from tests.fixtures.agents import scripted
from tests.fixtures.demo import DemoUser
from tests.fixtures.http import chat
from tests.fixtures.server import LiveServer

TEST_USER = "test.user@example.com"


def _seen(messages: list[ModelMessage]) -> dict[str, Any]:
    """What the model was sent: the user prompts in order, whether a system prompt came first, and whether every
    tool call has its result and every result its call."""
    prompts = [
        p.content for m in messages if isinstance(m, ModelRequest) for p in m.parts if isinstance(p, UserPromptPart)
    ]
    calls = {
        p.tool_call_id for m in messages if isinstance(m, ModelResponse) for p in m.parts if isinstance(p, ToolCallPart)
    }
    returns = {
        p.tool_call_id
        for m in messages
        if isinstance(m, ModelRequest)
        for p in m.parts
        if isinstance(p, ToolReturnPart)
    }
    first = messages[0]
    system = isinstance(first, ModelRequest) and isinstance(first.parts[0], SystemPromptPart)
    return {"prompts": prompts, "system": system, "paired": calls == returns, "messages": len(messages)}


def _recall(messages: list[ModelMessage]) -> ToolCallPart | tuple[str, float]:
    """Each turn: a call of `note`, then a reply that reports what the model was sent (as JSON)."""
    last = messages[-1]
    if isinstance(last, ModelRequest) and any(isinstance(p, ToolReturnPart) for p in last.parts):
        return json.dumps(_seen(messages)), 0.0
    return ToolCallPart("note", {})


async def note(ctx: RunContext[AgentDeps]) -> str:
    """Note that the turn happened."""
    return "noted"


def _spec(name: str, window: HistoryWindow) -> AgentSpec:
    agent = Agent(deps_type=AgentDeps, system_prompt="You are the recall agent.", tools=[note])
    return AgentSpec(name=name, description=name, agent=agent, model=scripted(_recall, name), history=window)


def plugin() -> Plugin:
    return Plugin(
        name="test-history",
        agents=[
            _spec("recall-6", HistoryWindow(max_messages=6)),
            _spec("recall-all", HistoryWindow(max_messages=None)),
            # One turn's four messages are ~3 KB of stored JSON: 1,800 tokens (~7,200 characters) hold two turns.
            _spec("recall-tokens", HistoryWindow(max_messages=None, max_tokens=1800)),
        ],
    )


def _turns(server: LiveServer, key: str, agent: str, count: int) -> tuple[str, list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []
    thread_id: str | None = None
    with server.client(key) as client:
        for turn in range(1, count + 1):
            body = chat(client, f"turn {turn}", thread_id=thread_id, agent=agent)
            thread_id = body["thread_id"]
            seen.append(json.loads(body["reply"]))
        messages = client.get(f"/v1/threads/{thread_id}/messages", params={"limit": 100}).json()["items"]
    assert thread_id is not None
    assert len(messages) == 4 * count  # the thread keeps every message, whatever the window
    return thread_id, seen


PLUGIN = f"{__name__}:plugin"


def test_a_window_of_messages_keeps_the_recent_whole_turns_and_the_system_prompt(
    make_server: Callable[..., LiveServer], demo: dict[str, DemoUser]
) -> None:
    server = make_server(plugins=[PLUGIN])
    _, seen = _turns(server, demo[TEST_USER].key, "recall-6", 5)
    # Six earlier messages are a turn and a half: the half turn is left out whole, so the model sees the previous
    # turn (its prompt, call, result and reply) and the current one.
    assert [s["prompts"] for s in seen] == [
        ["turn 1"],
        ["turn 1", "turn 2"],
        ["turn 2", "turn 3"],
        ["turn 3", "turn 4"],
        ["turn 4", "turn 5"],
    ]
    assert all(s["system"] and s["paired"] for s in seen)
    assert seen[-1]["messages"] == 4 + 3  # the earlier turn's four, and this turn's request, call and result


def test_without_a_limit_the_whole_history_is_sent(
    make_server: Callable[..., LiveServer], demo: dict[str, DemoUser]
) -> None:
    server = make_server(plugins=[PLUGIN])
    _, seen = _turns(server, demo[TEST_USER].key, "recall-all", 4)
    assert seen[-1]["prompts"] == ["turn 1", "turn 2", "turn 3", "turn 4"]
    assert seen[-1]["system"]
    assert seen[-1]["paired"]


def test_a_token_budget_keeps_what_fits(make_server: Callable[..., LiveServer], demo: dict[str, DemoUser]) -> None:
    server = make_server(plugins=[PLUGIN])
    _, seen = _turns(server, demo[TEST_USER].key, "recall-tokens", 6)
    earlier = [len(s["prompts"]) - 1 for s in seen]
    assert earlier[:2] == [0, 1]
    # The budget holds a couple of whole turns and never more: the count stops growing.
    plateau = earlier[-1]
    assert 1 <= plateau <= 3
    assert earlier[-3:] == [plateau] * 3
    assert all(s["system"] and s["paired"] for s in seen)
