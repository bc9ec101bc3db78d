"""An agent called as a tool (`agents.delegation.agent_tool`), as the ledger runs it: the call's child run.

The first time the call is seen, its child run is spawned (committed under the caller's lease) and the call is
deferred; the run then waits for its children (`WaitingForChildren`, raised by the ledger once every call of the
response has been seen, so calls made together start together). When the run is resumed, the call finds its
child finished and answers with the child's output, recorded in the ledger like any tool result.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from pydantic_ai.exceptions import CallDeferred
from pydantic_ai.messages import ToolCallPart
from pydantic_ai.usage import RunUsage
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.engine import children
from switchboard.models import Run
from switchboard.models.runs import FINAL, RunStatus


class WaitingForChildren(Exception):  # a control-flow signal, not an error
    """Raised out of the run when tool calls wait for their child runs."""

    def __init__(self, calls: list[ToolCallPart]) -> None:
        super().__init__(f"{len(calls)} tool call(s) wait for their child runs")
        self.calls = calls


def answer(child: Run) -> Any:
    """What the calling model is told: the child's output, or what became of it."""
    if child.status == RunStatus.SUCCEEDED:
        return child.output
    why = (child.error or {}).get("message") or "no reason given"
    return f"The {child.agent} agent's run {child.id} ended {child.status}: {why}"


def child_usage(child: Run) -> RunUsage:
    """What the child run used and cost, to add to its caller's: its counts (`engine.progress.usage_dict`; the
    count of its unpriced responses too, which Pydantic AI adds up like any count) and its cost."""
    usage = child.usage or {}
    names = ("requests", "tool_calls", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    counts: dict[str, Any] = {name: int(usage.get(name, 0)) for name in names}
    return RunUsage(**counts, unpriced_requests=int(usage.get("unpriced_requests", 0)), cost=child.cost_usd)


MAX_DEPTH = 5
"""How deep agents may call agents (a run, its child, the child's child…): an agent calling itself as a tool,
or two calling each other, stops there instead of spawning runs without end."""


class DelegationRefused(Exception):
    """The call is answered without a child run (too deep): the message says why, to the model."""


_DEPTH = text("""
WITH RECURSIVE up(id, parent_id, depth) AS (
    SELECT id, parent_id, 0 FROM runs WHERE id = :id
    UNION ALL
    SELECT r.id, r.parent_id, up.depth + 1 FROM runs r JOIN up ON r.id = up.parent_id
)
SELECT max(depth) FROM up
""")


async def child_for(
    session: AsyncSession,
    *,
    run_id: uuid.UUID,
    owner: str,
    call: ToolCallPart,
    agent: str,
    model_of: Callable[[str], str],
) -> Run:
    """The call's finished child run; otherwise spawn it if it is new, and defer the call (`CallDeferred`). A run
    flagged to stop spawns nothing (the run then ends `cancelled` instead of waiting: `settling`)."""
    child = await session.scalar(select(Run).where(Run.parent_id == run_id, Run.step == call.tool_call_id))
    if child is not None and child.status in FINAL:
        return child
    if child is None:
        connection = await session.connection()
        # The caller's row, under its lease, before its child's (lock order); a cancel flag set before it stands.
        if not await children.lock(connection, run_id, owner):
            if int(await session.scalar(_DEPTH, {"id": run_id}) or 0) + 1 >= MAX_DEPTH:
                raise DelegationRefused(
                    f"Not asked: agents may call agents {MAX_DEPTH - 1} levels deep at most, and this call would go "
                    "deeper. Answer with what you have."
                )
            parent = await session.get_one(Run, run_id)
            request = str(call.args_as_dict().get("request", ""))
            await children.spawn(
                connection, parent, step=call.tool_call_id, agent=agent, input=request, model_name=model_of(agent)
            )
            await session.commit()
    raise CallDeferred(metadata={"agent": agent})
