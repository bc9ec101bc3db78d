"""The tool-call ledger and approvals, as a Pydantic AI capability added to every run.

- A call whose result is recorded (`run_steps`, keyed by run and tool_call_id) is answered from the record and
  never executed again: that is how a resumed run replays the calls it had already made.
- Each call runs in its own unit of work (`ctx.deps.session`), committed together with the recorded result and
  only while this worker still holds the run's lease: a tool's database changes take effect exactly once.
- A tool declared non-idempotent (`Tool(..., metadata={"idempotent": False})`) has its start recorded before it
  runs. If a worker died after that, the outcome is unknown: the model is told so, and the call is not re-run.
- A tool declared with `requires_approval=True` pauses the run (`requires_action`) until someone approves or
  denies the call; a denied call never runs and the model is told why.
- An agent called as a tool (`agents.delegation.agent_tool`) runs as a child run; the run waits for it
  (`waiting`) and the call's result is the child's output (see `engine.delegation`).
- A tool's rights come only from the run's user: a tool declared for other roles (`tools.access.tool_access`) is
  not offered to the model at all (`prepare_tools`), so a call to it is an unknown tool and never runs.
- Every run's model is told that tool results and other outside data are data, never instructions
  (`safety.separation.DATA_RULE`, added to the agent's instructions).
- Each call has a time limit (declared, else SWITCHBOARD_TOOL_TIMEOUT_SECONDS). Past it the call's unit of work is
  rolled back, the step recorded `failed` with what the model is told ("timed out"), and the run goes on: the
  model decides what next. A resumed run answers that call from the record; it never runs it again.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai.capabilities import AbstractCapability
from pydantic_ai.capabilities.abstract import ValidatedToolArgs, WrapToolExecuteHandler
from pydantic_ai.messages import ToolCallPart
from pydantic_ai.tools import (
    DeferredToolRequests,
    DeferredToolResults,
    RunContext,
    ToolApproved,
    ToolDefinition,
    ToolDenied,
)
from pydantic_core import to_jsonable_python
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from switchboard.agents.spec import DELEGATE_TO, AgentDeps, current_tool_session
from switchboard.engine.delegation import DelegationRefused, WaitingForChildren, answer, child_for, child_usage
from switchboard.engine.lease import fence
from switchboard.engine.records import record_tool_step, tool_step
from switchboard.kit.clock import utc_now
from switchboard.models import Run
from switchboard.models.runs import StepStatus
from switchboard.observability.metrics import TOOL_CALLS, TOOL_SECONDS
from switchboard.safety.separation import DATA_RULE
from switchboard.tools.access import ToolAccess


class PausedForApproval(Exception):  # a control-flow signal, not an error
    """Raised out of the run when calls wait for approval; their steps are recorded as `awaiting_approval`."""

    def __init__(self, calls: list[ToolCallPart]) -> None:
        super().__init__(f"{len(calls)} tool call(s) await approval")
        self.calls = calls


def is_idempotent(tool_def: ToolDefinition) -> bool:
    return bool((tool_def.metadata or {}).get("idempotent", True))


def unknown_outcome(call: ToolCallPart) -> str:
    return (
        f"Outcome unknown: the call {call.tool_name}({call.args_as_json_str()}) started, but the worker running it "
        "stopped before its result was recorded. It was not run again because the tool is not idempotent. Check "
        "whether it took effect before trying again."
    )


def timeout_message(call: ToolCallPart, limit: float) -> str:
    return (
        f"Timed out: the tool {call.tool_name} did not finish within its time limit of {limit:g} seconds and was "
        "stopped; its database changes were rolled back. It will not be retried automatically: tell the user, or "
        "try once more if that is reasonable."
    )


def denial_message(reason: str | None) -> str:
    return f"The user denied this tool call: {reason}" if reason else "The user denied this tool call."


@dataclass
class RunLedger(AbstractCapability[AgentDeps]):
    engine: AsyncEngine
    run_id: uuid.UUID
    owner: str
    attempt: int
    # The run had written nothing when this execution loaded it, so it has no recorded tool calls but those this
    # ledger records: a call it has not seen needs no lookup (one SELECT less per tool call of a new run).
    fresh: bool = False
    # The model of an agent, by name: a child run of an agent called as a tool is created with it.
    model_of: Callable[[str], str] = field(default=lambda name: name)
    # A tool's time limit when it declares none (SWITCHBOARD_TOOL_TIMEOUT_SECONDS).
    tool_timeout_seconds: float = 30.0
    _seen: set[str] = field(default_factory=set)

    @classmethod
    def get_serialization_name(cls) -> str | None:
        return None

    async def _record(self, session: AsyncSession, call: ToolCallPart, idempotent: bool, **values: Any) -> None:
        self._seen.add(call.tool_call_id)
        row = {
            "run_id": self.run_id,
            "attempt": self.attempt,
            "tool_call_id": call.tool_call_id,
            "tool_name": call.tool_name,
            "args": call.args_as_dict(),
            "idempotent": idempotent,
            **values,
        }
        await record_tool_step(session, row)

    def get_instructions(self) -> str:
        return DATA_RULE

    async def prepare_tools(self, ctx: RunContext[AgentDeps], tool_defs: list[ToolDefinition]) -> list[ToolDefinition]:
        """Only the tools the run's user may call are offered; Pydantic AI refuses a call to any other as unknown."""
        return [t for t in tool_defs if ToolAccess.of(t.metadata, t.timeout).allows(ctx.deps.user)]

    async def wrap_tool_execute(
        self,
        ctx: RunContext[AgentDeps],
        *,
        call: ToolCallPart,
        tool_def: ToolDefinition,
        args: ValidatedToolArgs,
        handler: WrapToolExecuteHandler,
    ) -> Any:
        idempotent = is_idempotent(tool_def)
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            unseen = self.fresh and call.tool_call_id not in self._seen
            step = None if unseen else await tool_step(session, self.run_id, call.tool_call_id)
            delegate_to = (tool_def.metadata or {}).get(DELEGATE_TO)
            if step is not None and step.status == StepStatus.FAILED:  # it timed out: the model was told so
                return step.result
            if step is not None and step.status == StepStatus.SUCCEEDED:
                if delegate_to is not None:  # its answer is not in the written history yet, nor is its usage
                    await self._count_child(ctx, session, call)
                return step.result
            if delegate_to is not None:
                return await self._delegated(ctx, session, call, str(delegate_to))
            if step is not None and step.status in (StepStatus.RUNNING, StepStatus.UNKNOWN) and not idempotent:
                await self._record(session, call, idempotent, status=StepStatus.UNKNOWN, finished_at=utc_now())
                await fence(session, self.run_id, self.owner)
                await session.commit()
                return unknown_outcome(call)
            started_at = utc_now()
            if not idempotent:
                await self._record(session, call, idempotent, status=StepStatus.RUNNING, started_at=started_at)
                await fence(session, self.run_id, self.owner)
                await session.commit()
            limit = ToolAccess.of(tool_def.metadata, tool_def.timeout).limit(self.tool_timeout_seconds)
            token = current_tool_session.set(session)
            clock = time.perf_counter()
            try:
                async with asyncio.timeout(limit) as deadline:
                    result = await handler(args)
            except TimeoutError:
                await session.rollback()
                if not deadline.expired():  # the tool's own TimeoutError: a failure like any other
                    _count(call, "error", clock)
                    raise
                _count(call, "timeout", clock)
                return await self._timed_out(session, call, idempotent, started_at, limit)
            except BaseException as failure:
                await session.rollback()
                if isinstance(failure, Exception):
                    _count(call, "error", clock)
                raise
            finally:
                current_tool_session.reset(token)
            _count(call, "ok", clock)
            await self._record(
                session,
                call,
                idempotent,
                status=StepStatus.SUCCEEDED,
                result=to_jsonable_python(result, fallback=str),
                started_at=started_at,
                finished_at=utc_now(),
            )
            await fence(session, self.run_id, self.owner)
            await session.commit()
            return result

    async def _timed_out(
        self, session: AsyncSession, call: ToolCallPart, idempotent: bool, started_at: Any, limit: float
    ) -> str:
        """A call past its time limit: recorded `failed` with what the model is told, which is its result."""
        message = timeout_message(call, limit)
        values = {"result": message, "started_at": started_at, "finished_at": utc_now()}
        await self._record(session, call, idempotent, status=StepStatus.FAILED, **values)
        await fence(session, self.run_id, self.owner)
        await session.commit()
        return message

    async def _delegated(
        self, ctx: RunContext[AgentDeps], session: AsyncSession, call: ToolCallPart, agent: str
    ) -> Any:
        """An agent called as a tool: its finished child run's answer, recorded; else the call is deferred."""
        started_at = utc_now()
        try:
            child = await child_for(
                session, run_id=self.run_id, owner=self.owner, call=call, agent=agent, model_of=self.model_of
            )
        except DelegationRefused as refused:
            result: Any = str(refused)
        else:
            result = answer(child)
            ctx.usage.incr(child_usage(child))  # the child's model requests count as the caller's
        values = {"result": to_jsonable_python(result, fallback=str), "started_at": started_at}
        await self._record(session, call, True, status=StepStatus.SUCCEEDED, finished_at=utc_now(), **values)
        await fence(session, self.run_id, self.owner)
        await session.commit()
        return result

    async def _count_child(self, ctx: RunContext[AgentDeps], session: AsyncSession, call: ToolCallPart) -> None:
        """A delegated call answered from the ledger: the run's written usage was saved before its answer was part
        of the history (a pause, a wait, a crash since), so its child's usage is counted again here, once."""
        child = await session.scalar(select(Run).where(Run.parent_id == self.run_id, Run.step == call.tool_call_id))
        if child is not None:
            ctx.usage.incr(child_usage(child))

    async def handle_deferred_tool_calls(
        self, ctx: RunContext[AgentDeps], *, requests: DeferredToolRequests
    ) -> DeferredToolResults | None:
        if not requests.approvals:
            if requests.calls:  # deferred only by `_delegated`: their child runs are started
                raise WaitingForChildren(list(requests.calls))
            return None
        decided: dict[str, ToolApproved | ToolDenied] = {}
        pending: list[ToolCallPart] = []
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            for call in requests.approvals:
                step = await tool_step(session, self.run_id, call.tool_call_id)
                if step is None or step.approved is None:
                    pending.append(call)
                    if step is None:
                        await self._record(session, call, True, status=StepStatus.AWAITING_APPROVAL)
                elif step.approved:
                    decided[call.tool_call_id] = ToolApproved()
                else:
                    TOOL_CALLS.labels(tool=call.tool_name, outcome="denied").inc()
                    decided[call.tool_call_id] = ToolDenied(denial_message(step.decision_reason))
                    await self._record(session, call, True, status=StepStatus.DENIED, finished_at=utc_now())
            await fence(session, self.run_id, self.owner)
            await session.commit()
        if pending:
            raise PausedForApproval(pending)
        if requests.calls:
            raise WaitingForChildren(list(requests.calls))
        return DeferredToolResults(approvals=dict(decided))


def _count(call: ToolCallPart, outcome: str, clock: float) -> None:
    TOOL_CALLS.labels(tool=call.tool_name, outcome=outcome).inc()
    TOOL_SECONDS.labels(tool=call.tool_name).observe(time.perf_counter() - clock)
