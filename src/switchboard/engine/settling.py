"""The last transaction of an execution: settle (finished), pause (waiting for approvals), wait for child runs
or release (worker shutting down). Each writes, in one transaction fenced by the lease, what the run had not
written yet — its pending events and any deferred messages — together with the status change."""

from __future__ import annotations

from typing import Any, Literal

from pydantic_ai.messages import ToolCallPart
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.engine import children, journal, transitions
from switchboard.engine.event_buffer import EventBuffer
from switchboard.engine.journal import Event
from switchboard.engine.outcome import Outcome, cancelled
from switchboard.engine.progress import (
    Progress,
    dump_messages,
    limit_passed,
    message_events,
    write_billed,
    write_messages,
)
from switchboard.models.runs import RunStatus
from switchboard.notifications.outbox import RunNotices
from switchboard.runs.schemas import PendingApproval

LIMITS = ("budget_exceeded", "usage_limit_exceeded", "rate_limited")  # the errors of a run a limit stopped


async def settle(
    engine: AsyncEngine, progress: Progress, buffer: EventBuffer, owner: str, outcome: Outcome, notices: RunNotices
) -> dict[str, Any]:
    """Write the outcome with the messages not written yet, and its notifications (the outbox); returns the
    run's row as written."""
    pending = progress.unwritten if outcome.status == RunStatus.SUCCEEDED else progress.deferred
    stopped = (outcome.error or {}).get("type") in LIMITS and not pending
    billed = limit_passed(progress) if stopped else []
    events = await buffer.take()
    async with engine.begin() as connection:
        if billed:  # a limit stopped the run on a response it had not written: its usage and cost count
            await write_billed(connection, progress, billed)
        if pending:
            dumped = dump_messages(pending)
            events += message_events(progress, pending, dumped)
            cancel_requested = await write_messages(connection, progress, pending, dumped)
            if cancel_requested and outcome.status == RunStatus.SUCCEEDED and progress.deferred:
                # The deferred response's own write is where a cancel requested meanwhile was noticed; noticed
                # here instead, it ends the run as it would have there.
                outcome = cancelled(progress.deferred_text)
        row = await transitions.settle(
            connection,
            run_id=progress.loaded.id,
            owner=owner,
            status=outcome.status,
            output=outcome.output,
            error=outcome.error,
            usage=progress.usage,
            events=events,
        )
        await notices.record(connection, row)
        return row


async def pause(
    engine: AsyncEngine,
    progress: Progress,
    buffer: EventBuffer,
    owner: str,
    calls: list[ToolCallPart],
    notices: RunNotices,
) -> None:
    """Pause for the approval of `calls` (their steps are already recorded as awaiting approval), with the
    notification that the run requires action."""
    waiting = [
        {"tool_call_id": call.tool_call_id, "tool_name": call.tool_name, "args": call.args_as_dict()} for call in calls
    ]
    events: list[Event] = [*await buffer.take(), ("approval_required", {"calls": waiting})]
    async with engine.begin() as connection:
        row = await transitions.pause(
            connection, run_id=progress.loaded.id, owner=owner, usage=progress.usage, events=events
        )
        await notices.record(connection, row, [PendingApproval.model_validate(call) for call in waiting])


async def wait_for_children(
    engine: AsyncEngine, progress: Progress, buffer: EventBuffer, owner: str, calls: list[ToolCallPart]
) -> Literal["waiting", "released", "cancelled"]:
    """Wait, holding no worker, for the child runs of `calls` (agents called as tools): `waiting`. `released`
    when they have all finished meanwhile: the run is back in the queue at once, to carry on with their answers.
    `cancelled` when a cancel was requested: only its pending events written, the caller settles the run."""
    waiting = [{"tool_call_id": call.tool_call_id, "tool_name": call.tool_name} for call in calls]
    pending = await buffer.take()  # before the transaction: a flush in flight writes the same row
    async with engine.begin() as connection:
        if await children.lock(connection, progress.loaded.id, owner):
            if pending:
                await journal.append(connection, progress.loaded.id, pending, owner=owner)
            return "cancelled"
        events: list[Event] = [*pending, ("waiting_for_children", {"calls": waiting})]
        if await children.wait(connection, progress.loaded.id, owner, progress.usage, events):
            return "waiting"
        await transitions.release(connection, run_id=progress.loaded.id, owner=owner, reason="children_finished")
        return "released"


async def release(engine: AsyncEngine, progress: Progress, buffer: EventBuffer, owner: str) -> None:
    """Give the run back to the queue; a deferred response is written, with its events, as it would have been."""
    events = await buffer.take()
    async with engine.begin() as connection:
        if progress.deferred:
            dumped = dump_messages(progress.deferred)
            events += message_events(progress, progress.deferred, dumped)
            await write_messages(connection, progress, progress.deferred, dumped)
        await transitions.release(
            connection, run_id=progress.loaded.id, owner=owner, reason="worker_shutdown", events=events
        )
