"""What a run writes while it executes, besides its status and events: the thread's messages, a step per model
response and per tool call (the tool-call ledger), and the run's usage so far. All in the caller's transaction;
the status changes are in `transitions`, the events in `journal`."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from switchboard.engine.journal import dumps
from switchboard.models import RunStep, ThreadMessage
from switchboard.models.runs import StepKind

_UPDATE_USAGE = text(
    "UPDATE runs SET usage = CAST(:usage AS jsonb), cost_usd = :cost, model_name = :model WHERE id = :id "
    "RETURNING cancel_requested"
)


async def add_messages(
    connection: AsyncConnection,
    run_id: uuid.UUID,
    messages: list[dict[str, Any]],
    steps: list[dict[str, Any]],
    *,
    usage: dict[str, Any],
    cost: Decimal | None,
    model_name: str,
) -> bool:
    """Insert thread messages and model-request steps (each with its cost), and record the run's usage and cost;
    returns whether a cancel has been requested meanwhile (read in the same statement, so no extra round trip)."""
    if messages:
        await connection.execute(insert(ThreadMessage), messages)
    if steps:
        await connection.execute(insert(RunStep), steps)
    values = {"usage": dumps(usage), "cost": cost, "model": model_name, "id": run_id}
    updated = await connection.execute(_UPDATE_USAGE, values)
    return bool(updated.scalar())


async def tool_step(session: AsyncSession, run_id: uuid.UUID, tool_call_id: str) -> RunStep | None:
    """The ledger's row for a tool call, if the call was seen before (by this attempt or an earlier one)."""
    return await session.scalar(select(RunStep).where(RunStep.run_id == run_id, RunStep.tool_call_id == tool_call_id))


async def record_tool_step(session: AsyncSession, row: dict[str, Any]) -> None:
    """Insert or update the ledger's row for `row["tool_call_id"]` (one row per run and tool call)."""
    row = {**row, "kind": StepKind.TOOL_CALL}
    update = {key: value for key, value in row.items() if key not in ("run_id", "tool_call_id", "kind")}
    await session.execute(
        pg_insert(RunStep).values(**row).on_conflict_do_update(index_elements=["run_id", "tool_call_id"], set_=update)
    )
