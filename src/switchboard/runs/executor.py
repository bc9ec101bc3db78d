"""Execute one claimed run: drive the Pydantic AI agent node by node, write each step as it completes, and
settle the run. A resumed run (after a crash, or an approval) continues from the last written step."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from pydantic_ai import Agent
from pydantic_ai.exceptions import AgentRunError, UsageLimitExceeded, UserError
from pydantic_ai.messages import (
    FunctionToolCallEvent,
    FunctionToolResultEvent,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
)
from pydantic_ai.run import AgentRun
from pydantic_ai.usage import RunUsage, UsageLimits
from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from switchboard.agents.registry import AgentRegistry
from switchboard.agents.spec import AgentDeps
from switchboard.runs import journal, queue
from switchboard.runs.context import LoadedRun, load_run
from switchboard.runs.event_buffer import EventBuffer
from switchboard.runs.journal import LeaseLost
from switchboard.runs.ledger import PausedForApproval, RunLedger
from switchboard.runs.progress import Progress, dump_messages, message_events, now, usage_dict, write_messages
from switchboard.settings import Settings

log = structlog.get_logger(__name__)

StopReason = Literal["cancel", "shutdown", "lease_lost"]


class RunCancelled(Exception):  # a control-flow signal, not an error
    pass


@dataclass
class RunControl:
    """How the worker reaches a run in flight: cancel (honoured between steps, and at once while the model is
    streaming), shutdown (give it back to the queue) and lease loss (stop writing at once)."""

    run_id: uuid.UUID
    task: asyncio.Task[Any] | None = None
    interruptible: bool = False
    stop_reason: StopReason | None = None

    def stop(self, reason: StopReason) -> None:
        if self.stop_reason is None or reason == "lease_lost":
            self.stop_reason = reason
        if self.task is not None and (reason != "cancel" or self.interruptible):
            self.task.cancel()


class RunExecutor:
    def __init__(self, engine: AsyncEngine, agents: AgentRegistry, settings: Settings) -> None:
        self.engine = engine
        self.agents = agents
        self.settings = settings

    async def execute(self, run_id: uuid.UUID, attempt: int, owner: str, control: RunControl) -> str | None:
        """Run to a settled state; returns the status written (None if the run was given up to another worker)."""
        loaded = await load_run(self.engine, run_id)
        registered = self.agents.require(loaded.run.agent)
        progress = Progress(
            loaded=loaded, model_name=registered.model.name, next_seq=loaded.next_seq, usage=dict(loaded.usage)
        )
        buffer = EventBuffer(self.engine, run_id, owner, on_cancel_requested=lambda: control.stop("cancel"))
        bound = log.bind(run_id=str(run_id), agent=loaded.run.agent, attempt=attempt)
        if loaded.run.cancel_requested:
            control.stop("cancel")
        timeout = self._remaining(loaded)
        deadline = asyncio.timeout(timeout if timeout is None or timeout > 0 else 0)
        outcome: tuple[str, Any, dict[str, Any] | None]
        try:
            async with deadline:
                output = await self._drive(progress, registered.spec.agent, registered, buffer, owner, attempt, control)
            outcome = ("succeeded", output, None)
        except asyncio.CancelledError:
            reason = control.stop_reason
            if reason is None:
                raise
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            if reason == "lease_lost":
                bound.warning("run.lease_lost")
                return None
            if reason == "shutdown":
                await self._release(progress, owner, buffer)
                bound.info("run.released", reason="worker_shutdown")
                return "queued"
            outcome = ("cancelled", progress.partial_text or None, None)
        except RunCancelled:
            outcome = ("cancelled", progress.partial_text or None, None)
        except PausedForApproval as paused:
            return await self._pause(progress, buffer, owner, paused, bound)
        except TimeoutError as exc:
            if not deadline.expired():  # a tool's own timeout, not the run's wall-clock limit
                bound.exception("run.crashed")
                crashed = {"type": "internal_error", "message": f"The run failed: {self._redact(repr(exc))}"}
                outcome = ("failed", None, crashed)
            else:
                limit = (loaded.run.limits or {}).get("timeout_seconds")
                timed_out = {"type": "timed_out", "message": f"The run exceeded its wall-clock limit of {limit} s."}
                outcome = ("timed_out", progress.partial_text or None, timed_out)
        except UsageLimitExceeded as exc:
            outcome = ("failed", None, {"type": "usage_limit_exceeded", "message": str(exc)})
        except LeaseLost:
            bound.warning("run.lease_lost")
            return None
        except (AgentRunError, UserError) as exc:
            message = self._redact(str(exc))
            bound.warning("run.model_failed", model=progress.model_name, error=message)
            failure = f"The model {progress.model_name!r} failed: {message}"
            outcome = ("failed", None, {"type": "model_error", "message": failure})
        except Exception as exc:
            bound.exception("run.crashed")
            message = self._redact(f"{type(exc).__name__}: {exc}")
            outcome = ("failed", None, {"type": "internal_error", "message": f"The run failed: {message}"})
        status, output, error = outcome
        try:
            status = await self._settle(progress, buffer, owner, status, output, error)
        except LeaseLost:
            bound.warning("run.lease_lost")
            return None
        bound.info("run.settled", status=status, requests=progress.usage.get("requests"))
        return status

    def _remaining(self, loaded: LoadedRun) -> float | None:
        limit = (loaded.run.limits or {}).get("timeout_seconds")
        if limit is None:
            return None
        started = loaded.started_at or now()
        return float(limit) - (now() - started).total_seconds()

    def _redact(self, message: str) -> str:
        secret = self.settings.llm_api_key.get_secret_value() if self.settings.llm_api_key else None
        return message.replace(secret, "***") if secret else message

    async def _drive(
        self,
        progress: Progress,
        agent: Agent[AgentDeps, Any],
        registered: Any,
        buffer: EventBuffer,
        owner: str,
        attempt: int,
        control: RunControl,
    ) -> Any:
        loaded = progress.loaded
        run = loaded.run
        limits = run.limits or {}
        deps = AgentDeps(user=loaded.principal, request_id=run.request_id, run_id=run.id)
        ledger = RunLedger(engine=self.engine, run_id=run.id, owner=owner, attempt=attempt)
        async with agent.iter(
            None if loaded.own else run.input,
            message_history=[*loaded.prior, *loaded.own],
            deps=deps,
            model=registered.model.model,
            model_settings=registered.model.settings,
            usage_limits=UsageLimits(
                request_limit=limits.get("max_model_requests", 50), tool_calls_limit=limits.get("max_tool_calls")
            ),
            usage=RunUsage(**loaded.usage) if loaded.usage else None,
            capabilities=[ledger],
        ) as agent_run:
            async for node in agent_run:
                if Agent.is_end_node(node):
                    break
                if Agent.is_call_tools_node(node) and not node.model_response.tool_calls:
                    # A response that calls no tool: nothing runs before the next write (the outcome's, or the
                    # next step's on a retry), so it is written there, saving a transaction per run. Every
                    # outcome writes it (see _settle and _release); the events are the same, in the same order.
                    progress.deferred = agent_run.new_messages()[progress.persisted :]
                    progress.deferred_text = progress.partial_text
                    progress.usage = usage_dict(agent_run.usage)
                else:
                    await self._persist(progress, agent_run, buffer)
                if control.stop_reason == "cancel":
                    raise RunCancelled
                if Agent.is_model_request_node(node):
                    progress.request_started_at = now()
                    progress.partial_text = ""
                    control.interruptible = True
                    try:
                        async with node.stream(agent_run.ctx) as stream:
                            async for event in stream:
                                self._on_model_event(event, progress, buffer)
                    finally:
                        control.interruptible = False
                elif Agent.is_call_tools_node(node):
                    async with node.stream(agent_run.ctx) as tool_stream:
                        async for tool_event in tool_stream:
                            self._on_tool_event(tool_event, buffer)
            progress.usage = usage_dict(agent_run.usage)
            progress.unwritten = agent_run.new_messages()[progress.persisted :]
            result = agent_run.result
            assert result is not None  # the loop above only ends at the End node
            progress.partial_text = ""
            return to_jsonable_python(result.output, fallback=str)

    def _on_model_event(self, event: Any, progress: Progress, buffer: EventBuffer) -> None:
        if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart) and event.part.content:
            progress.partial_text += event.part.content
            buffer.add("text_delta", {"index": event.index, "delta": event.part.content})
        elif isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
            progress.partial_text += event.delta.content_delta
            buffer.add("text_delta", {"index": event.index, "delta": event.delta.content_delta})

    def _on_tool_event(self, event: Any, buffer: EventBuffer) -> None:
        if isinstance(event, FunctionToolCallEvent):
            part = event.part
            buffer.add(
                "tool_call",
                {"tool_call_id": part.tool_call_id, "tool_name": part.tool_name, "args": part.args_as_dict()},
            )
        elif isinstance(event, FunctionToolResultEvent):
            result = event.part
            buffer.add(
                "tool_result",
                {
                    "tool_call_id": result.tool_call_id,
                    "tool_name": result.tool_name,
                    "result": getattr(result, "content", None),
                    "kind": result.part_kind,
                },
            )

    async def _persist(self, progress: Progress, agent_run: AgentRun[AgentDeps, Any], buffer: EventBuffer) -> None:
        """Write the run's messages completed since the last call (and pending events), in one transaction."""
        new = agent_run.new_messages()
        fresh = new[progress.persisted :]
        progress.usage = usage_dict(agent_run.usage)
        if not fresh:
            await buffer.flush()
            return
        dumped = dump_messages(fresh)
        events = message_events(progress, fresh, dumped)

        async def write(connection: AsyncConnection) -> None:
            await write_messages(connection, progress, fresh, dumped)

        await buffer.flush(write, closing=events)
        progress.persisted = len(new)
        progress.deferred = []

    async def _settle(
        self,
        progress: Progress,
        buffer: EventBuffer,
        owner: str,
        status: str,
        output: Any,
        error: dict[str, Any] | None,
    ) -> str:
        """Write the outcome (with the messages not written yet) in one transaction; returns the status written."""
        pending = progress.unwritten if status == "succeeded" else progress.deferred
        events = await buffer.take()
        async with self.engine.begin() as connection:
            if pending:
                dumped = dump_messages(pending)
                events += message_events(progress, pending, dumped)
                cancel_requested = await write_messages(connection, progress, pending, dumped)
                if cancel_requested and status == "succeeded" and progress.deferred:
                    # The deferred response's own write is where a cancel requested meanwhile was noticed;
                    # noticed here instead, it ends the run as it would have there.
                    status, output, error = "cancelled", progress.deferred_text or None, None
            await queue.settle(
                connection,
                run_id=progress.loaded.id,
                owner=owner,
                status=status,
                output=output,
                error=error,
                usage=progress.usage,
                events=events,
            )
        return status

    async def _pause(
        self, progress: Progress, buffer: EventBuffer, owner: str, paused: PausedForApproval, bound: Any
    ) -> str | None:
        calls = [
            {"tool_call_id": call.tool_call_id, "tool_name": call.tool_name, "args": call.args_as_dict()}
            for call in paused.calls
        ]
        events = [*await buffer.take(), ("approval_required", {"calls": calls})]
        try:
            async with self.engine.begin() as connection:
                await queue.settle(
                    connection,
                    run_id=progress.loaded.id,
                    owner=owner,
                    status="requires_action",
                    usage=progress.usage,
                    events=events,
                )
        except LeaseLost:
            bound.warning("run.lease_lost")
            return None
        bound.info("run.awaiting_approval", calls=[c["tool_call_id"] for c in calls])
        return "requires_action"

    async def _release(self, progress: Progress, owner: str, buffer: EventBuffer) -> None:
        run_id = progress.loaded.id
        events = await buffer.take()
        try:
            async with self.engine.begin() as connection:
                if progress.deferred:  # written, with its events, as it would have been when it arrived
                    dumped = dump_messages(progress.deferred)
                    events += message_events(progress, progress.deferred, dumped)
                    await write_messages(connection, progress, progress.deferred, dumped)
                    await journal.append(connection, run_id, events, owner=owner)
                await queue.release(connection, run_id=run_id, owner=owner, reason="worker_shutdown")
        except LeaseLost:
            log.warning("run.lease_lost", run_id=str(run_id))
