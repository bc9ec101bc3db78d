"""The tool-call ledger and approvals, as a Pydantic AI capability added to every run.

- A call whose result is recorded (`run_steps`, keyed by run and tool_call_id) is answered from the record and
  never executed again: that is how a resumed run replays the calls it had already made.
- Each call runs in its own unit of work (`ctx.deps.session`), committed together with the recorded result and
  only while this worker still holds the run's lease: a tool's database changes take effect exactly once.
- A tool declared non-idempotent (`Tool(..., metadata={"idempotent": False})`) has its start recorded before it
  runs. If a worker died after that, the outcome is unknown: the model is told so, and the call is not re-run.
- A tool declared with `requires_approval=True` pauses the run (`requires_action`) until someone approves or
  denies the call; a denied call never runs and the model is told why.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic_ai.capabilities import AbstractCapability
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
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from switchboard.agents.spec import AgentDeps, current_tool_session
from switchboard.models import RunStep
from switchboard.runs.journal import LeaseLost

_FENCE = text(
    "UPDATE runs SET updated_at = now() WHERE id = :id AND lease_owner = :owner AND status = 'running' RETURNING id"
)


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


def denial_message(reason: str | None) -> str:
    return f"The user denied this tool call: {reason}" if reason else "The user denied this tool call."


async def fence(connection: AsyncConnection | AsyncSession, run_id: uuid.UUID, owner: str) -> None:
    """Hold the run row until commit, and only while this worker still holds the lease."""
    if (await connection.execute(_FENCE, {"id": run_id, "owner": owner})).first() is None:
        raise LeaseLost(str(run_id))


@dataclass
class RunLedger(AbstractCapability[AgentDeps]):
    engine: AsyncEngine
    run_id: uuid.UUID
    owner: str
    attempt: int
    _sessions: dict[str, AsyncSession] = field(default_factory=dict)

    @classmethod
    def get_serialization_name(cls) -> str | None:
        return None

    async def _step(self, session: AsyncSession, tool_call_id: str) -> RunStep | None:
        return await session.scalar(
            select(RunStep).where(RunStep.run_id == self.run_id, RunStep.tool_call_id == tool_call_id)
        )

    async def _record(self, session: AsyncSession, call: ToolCallPart, idempotent: bool, **values: Any) -> None:
        row = {
            "run_id": self.run_id,
            "kind": "tool_call",
            "attempt": self.attempt,
            "tool_call_id": call.tool_call_id,
            "tool_name": call.tool_name,
            "args": call.args_as_dict(),
            "idempotent": idempotent,
            **values,
        }
        update = {key: value for key, value in row.items() if key not in ("run_id", "tool_call_id", "kind")}
        await session.execute(
            pg_insert(RunStep)
            .values(**row)
            .on_conflict_do_update(index_elements=["run_id", "tool_call_id"], set_=update)
        )

    async def wrap_tool_execute(
        self,
        ctx: RunContext[AgentDeps],
        *,
        call: ToolCallPart,
        tool_def: ToolDefinition,
        args: Any,
        handler: Any,
    ) -> Any:
        idempotent = is_idempotent(tool_def)
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            step = await self._step(session, call.tool_call_id)
            if step is not None and step.status == "succeeded":
                return step.result
            if step is not None and step.status in ("running", "unknown") and not idempotent:
                await self._record(session, call, idempotent, status="unknown", finished_at=_now())
                await fence(session, self.run_id, self.owner)
                await session.commit()
                return unknown_outcome(call)
            started_at = _now()
            if not idempotent:
                await self._record(session, call, idempotent, status="running", started_at=started_at)
                await fence(session, self.run_id, self.owner)
                await session.commit()
            token = current_tool_session.set(session)
            try:
                result = await handler(args)
            except BaseException:
                await session.rollback()
                raise
            finally:
                current_tool_session.reset(token)
            await self._record(
                session,
                call,
                idempotent,
                status="succeeded",
                result=to_jsonable_python(result, fallback=str),
                started_at=started_at,
                finished_at=_now(),
            )
            await fence(session, self.run_id, self.owner)
            await session.commit()
            return result

    async def handle_deferred_tool_calls(
        self, ctx: RunContext[AgentDeps], *, requests: DeferredToolRequests
    ) -> DeferredToolResults | None:
        if not requests.approvals:
            return None
        decided: dict[str, ToolApproved | ToolDenied] = {}
        pending: list[ToolCallPart] = []
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            for call in requests.approvals:
                step = await self._step(session, call.tool_call_id)
                if step is None or step.approved is None:
                    pending.append(call)
                    if step is None:
                        await self._record(session, call, True, status="awaiting_approval")
                elif step.approved:
                    decided[call.tool_call_id] = ToolApproved()
                else:
                    decided[call.tool_call_id] = ToolDenied(denial_message(step.decision_reason))
                    await self._record(session, call, True, status="denied", finished_at=_now())
            await fence(session, self.run_id, self.owner)
            await session.commit()
        if pending:
            raise PausedForApproval(pending)
        return DeferredToolResults(approvals=dict(decided))


def _now() -> datetime:
    return datetime.now(UTC)
