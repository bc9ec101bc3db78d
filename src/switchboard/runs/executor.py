"""Execute one claimed run: drive the Pydantic AI agent node by node, write each step as it completes, and
settle the run. A resumed run (after a crash, or an approval) continues from the last written step."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import structlog
from pydantic_ai import Agent
from pydantic_ai.exceptions import AgentRunError, UsageLimitExceeded, UserError
from pydantic_ai.messages import (
    FunctionToolCallEvent,
    FunctionToolResultEvent,
    ModelMessage,
    ModelMessagesTypeAdapter,
    ModelResponse,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
)
from pydantic_ai.run import AgentRun
from pydantic_ai.usage import RunUsage, UsageLimits
from pydantic_core import to_jsonable_python
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from switchboard.agents.registry import AgentRegistry
from switchboard.agents.spec import AgentDeps
from switchboard.models import RunStep, ThreadMessage
from switchboard.runs import journal, queue
from switchboard.runs.context import LoadedRun, load_run
from switchboard.runs.event_buffer import EventBuffer
from switchboard.runs.journal import Event, LeaseLost, dumps
from switchboard.runs.ledger import PausedForApproval, RunLedger
from switchboard.settings import Settings
from switchboard.threads.service import text_of

log = structlog.get_logger(__name__)

StopReason = Literal["cancel", "shutdown", "lease_lost"]


_UPDATE_USAGE = text(
    "UPDATE runs SET usage = CAST(:usage AS jsonb), model_name = :model WHERE id = :id RETURNING cancel_requested"
)


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


def usage_dict(usage: RunUsage) -> dict[str, int]:
    return {
        "requests": usage.requests,
        "tool_calls": usage.tool_calls,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
    }


def _now() -> datetime:
    return datetime.now(UTC)


def _dump(messages: list[ModelMessage]) -> list[Any]:
    """Messages as JSON-able data, once for both their rows and their events."""
    return ModelMessagesTypeAdapter.dump_python(messages, mode="json")  # type: ignore[no-any-return]


@dataclass
class _Progress:
    loaded: LoadedRun
    model_name: str
    persisted: int = 0  # how many of the run's new messages are written
    next_seq: int = 0
    request_started_at: datetime | None = None
    partial_text: str = ""
    usage: dict[str, int] = field(default_factory=dict)
    unwritten: list[ModelMessage] = field(default_factory=list)  # the final messages, written with the outcome
    # A response that called no tool, with its request: written with the next write, the outcome's normally.
    deferred: list[ModelMessage] = field(default_factory=list)
    deferred_text: str = ""


class RunExecutor:
    def __init__(self, engine: AsyncEngine, agents: AgentRegistry, settings: Settings) -> None:
        self.engine = engine
        self.agents = agents
        self.settings = settings

    async def execute(self, run_id: uuid.UUID, attempt: int, owner: str, control: RunControl) -> str | None:
        """Run to a settled state; returns the status written (None if the run was given up to another worker)."""
        loaded = await load_run(self.engine, run_id)
        registered = self.agents.require(loaded.run.agent)
        progress = _Progress(
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
        started = loaded.started_at or _now()
        return float(limit) - (_now() - started).total_seconds()

    def _redact(self, message: str) -> str:
        secret = self.settings.llm_api_key.get_secret_value() if self.settings.llm_api_key else None
        return message.replace(secret, "***") if secret else message

    async def _drive(
        self,
        progress: _Progress,
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
                    progress.request_started_at = _now()
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

    def _on_model_event(self, event: Any, progress: _Progress, buffer: EventBuffer) -> None:
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

    async def _persist(self, progress: _Progress, agent_run: AgentRun[AgentDeps, Any], buffer: EventBuffer) -> None:
        """Write the run's messages completed since the last call (and pending events), in one transaction."""
        new = agent_run.new_messages()
        fresh = new[progress.persisted :]
        progress.usage = usage_dict(agent_run.usage)
        if not fresh:
            await buffer.flush()
            return
        dumped = _dump(fresh)
        events = self._message_events(progress, fresh, dumped)

        async def write(connection: AsyncConnection) -> None:
            await self._write_messages(connection, progress, fresh, dumped)

        await buffer.flush(write, closing=events)
        progress.persisted = len(new)
        progress.deferred = []

    def _message_events(self, progress: _Progress, messages: list[ModelMessage], dumped: list[Any]) -> list[Event]:
        return [
            ("message", {"seq": progress.next_seq + i, "kind": message.kind, "message": data})
            for i, (message, data) in enumerate(zip(messages, dumped, strict=True))
        ]

    async def _write_messages(
        self, connection: AsyncConnection, progress: _Progress, messages: list[ModelMessage], dumped: list[Any]
    ) -> bool:
        """Insert the messages (and a step per model response); returns whether a cancel has been requested."""
        run = progress.loaded.run
        rows: list[dict[str, Any]] = []
        steps: list[dict[str, Any]] = []
        for message, data in zip(messages, dumped, strict=True):
            rows.append(
                {
                    "thread_id": run.thread_id,
                    "run_id": run.id,
                    "seq": progress.next_seq,
                    "turn": run.turn,
                    "kind": message.kind,
                    "message": data,
                    "text": text_of(message),
                    "model_name": progress.model_name if isinstance(message, ModelResponse) else None,
                    "request_id": run.request_id,
                    "acting_user_id": run.acting_user_id,
                }
            )
            progress.next_seq += 1
            if isinstance(message, ModelResponse):
                steps.append(
                    {
                        "run_id": run.id,
                        "kind": "model_request",
                        "status": "succeeded",
                        "attempt": run.attempts,
                        "model_name": progress.model_name,
                        "usage": {
                            "input_tokens": message.usage.input_tokens,
                            "output_tokens": message.usage.output_tokens,
                        },
                        "started_at": progress.request_started_at or message.timestamp,
                        "finished_at": _now(),
                    }
                )
        await connection.execute(insert(ThreadMessage), rows)
        if steps:
            await connection.execute(insert(RunStep), steps)
        updated = await connection.execute(
            _UPDATE_USAGE, {"usage": dumps(progress.usage), "model": progress.model_name, "id": run.id}
        )
        return bool(updated.scalar())

    async def _settle(
        self,
        progress: _Progress,
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
                dumped = _dump(pending)
                events += self._message_events(progress, pending, dumped)
                cancel_requested = await self._write_messages(connection, progress, pending, dumped)
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
        self, progress: _Progress, buffer: EventBuffer, owner: str, paused: PausedForApproval, bound: Any
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

    async def _release(self, progress: _Progress, owner: str, buffer: EventBuffer) -> None:
        run_id = progress.loaded.id
        events = await buffer.take()
        try:
            async with self.engine.begin() as connection:
                if progress.deferred:  # written, with its events, as it would have been when it arrived
                    dumped = _dump(progress.deferred)
                    events += self._message_events(progress, progress.deferred, dumped)
                    await self._write_messages(connection, progress, progress.deferred, dumped)
                    await journal.append(connection, run_id, events, owner=owner)
                await queue.release(connection, run_id=run_id, owner=owner, reason="worker_shutdown")
        except LeaseLost:
            log.warning("run.lease_lost", run_id=str(run_id))
