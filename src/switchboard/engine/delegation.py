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
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.engine import children
from switchboard.engine.lease import fence
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
    usage = child.usage or {}
    return RunUsage(
        requests=int(usage.get("requests", 0)),
        tool_calls=int(usage.get("tool_calls", 0)),
        input_tokens=int(usage.get("input_tokens", 0)),
        output_tokens=int(usage.get("output_tokens", 0)),
    )


async def child_for(
    session: AsyncSession,
    *,
    run_id: uuid.UUID,
    owner: str,
    call: ToolCallPart,
    agent: str,
    model_of: Callable[[str], str],
) -> Run:
    """The call's finished child run; otherwise spawn it if it is new, and defer the call (`CallDeferred`)."""
    child = await session.scalar(select(Run).where(Run.parent_id == run_id, Run.step == call.tool_call_id))
    if child is not None and child.status in FINAL:
        return child
    if child is None:
        await fence(session, run_id, owner)  # the caller's row, under its lease, before its child's (lock order)
        parent = await session.get_one(Run, run_id)
        request = str(call.args_as_dict().get("request", ""))
        connection = await session.connection()
        await children.spawn(
            connection, parent, step=call.tool_call_id, agent=agent, input=request, model_name=model_of(agent)
        )
        await session.commit()
    raise CallDeferred(metadata={"agent": agent})
