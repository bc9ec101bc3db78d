"""Execute one claimed run: drive the Pydantic AI agent node by node, write each step as it completes, and
settle the run. A resumed run (after a crash, or an approval) continues from the last written step."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from pydantic_ai import Agent
from pydantic_ai.usage import RunUsage, UsageLimits
from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.typing import FilteringBoundLogger

from switchboard.agents.registry import AgentRegistry, RegisteredAgent
from switchboard.agents.spec import AgentDeps
from switchboard.engine import outcome as outcomes
from switchboard.engine.delegation import WaitingForChildren
from switchboard.engine.event_buffer import EventBuffer
from switchboard.engine.gates import run_gates
from switchboard.engine.lease import LeaseLost
from switchboard.engine.ledger import PausedForApproval, RunLedger
from switchboard.engine.load import LoadedRun, load_run
from switchboard.engine.local import SettledHere
from switchboard.engine.model_retry import backoff, check_finished, record_failed_request
from switchboard.engine.outcome import Outcome, RunCancelled
from switchboard.engine.pipeline import PipelineDriver
from switchboard.engine.progress import Progress, persist, usage_dict
from switchboard.engine.queue import Claimed
from switchboard.engine.run_events import on_model_event, on_tool_event, on_whole_response
from switchboard.engine.settling import pause, release, settle, wait_for_children
from switchboard.engine.trees import end_children
from switchboard.kit.clock import utc_now
from switchboard.kit.db import database_unavailable
from switchboard.kit.logging import redactor
from switchboard.models.runs import RunStatus
from switchboard.notifications.outbox import RunNotices
from switchboard.pipelines.spec import PipelineSpec
from switchboard.settings import Settings
from switchboard.usage.run_gate import run_cost_limit

log = structlog.get_logger(__name__)

StopReason = Literal["cancel", "shutdown", "lease_lost"]


@dataclass
class RunControl:
    """How the worker reaches a run in flight: cancel (honoured between steps, and at once while the model is
    streaming), shutdown (give it back to the queue) and lease loss (stop writing at once)."""

    run_id: uuid.UUID
    task: asyncio.Task[None] | None = None
    interruptible: bool = False
    stop_reason: StopReason | None = None

    def stop(self, reason: StopReason) -> None:
        if self.stop_reason is None or reason == "lease_lost":
            self.stop_reason = reason
        if self.task is not None and (reason != "cancel" or self.interruptible):
            self.task.cancel()


@dataclass
class _Drive:
    """What one execution's drive of the agent works with."""

    progress: Progress
    registered: RegisteredAgent
    buffer: EventBuffer
    owner: str
    attempt: int
    control: RunControl
    log: FilteringBoundLogger


class RunExecutor:
    def __init__(
        self, engine: AsyncEngine, agents: AgentRegistry, settings: Settings, settled_here: SettledHere | None = None
    ) -> None:
        self.engine = engine
        self.agents = agents
        self.settings = settings
        self.settled_here = settled_here or SettledHere()  # requests of this process waiting for its runs
        self.redact = redactor(settings.secrets())  # for what a run's error says: it is shown to its user
        self.notices = RunNotices(settings)
        self.pipelines = PipelineDriver(engine, agents, self.notices)

    async def execute(self, claimed: Claimed, owner: str, control: RunControl) -> RunStatus | None:
        """Run to a settled state; returns the status written (None if the run was lost to another worker)."""
        loaded = await load_run(self.engine, claimed.run_id, self.agents.history_window, claimed.known)
        pipeline = self.agents.pipeline(loaded.run.agent)
        if pipeline is not None:
            return await self._advance(loaded, pipeline, owner)
        registered = self.agents.require(loaded.run.agent)
        progress = Progress(
            loaded=loaded, model_name=registered.model.name, next_seq=loaded.next_seq, usage=dict(loaded.usage)
        )
        buffer = EventBuffer(self.engine, loaded.id, owner, on_cancel_requested=lambda: control.stop("cancel"))
        bound = log.bind(run_id=str(loaded.id), agent=loaded.run.agent, attempt=claimed.attempt)
        if loaded.run.cancel_requested:
            control.stop("cancel")
        timeout = loaded.remaining()
        deadline = asyncio.timeout(timeout if timeout is None or timeout > 0 else 0)
        try:
            try:
                async with deadline:
                    drive = _Drive(progress, registered, buffer, owner, claimed.attempt, control, bound)
                    output = await self._drive_with_retries(drive)
                outcome = outcomes.succeeded(output)
            except asyncio.CancelledError:
                if control.stop_reason is None:
                    raise
                task = asyncio.current_task()
                assert task is not None  # the worker runs every execution in a task of its own
                task.uncancel()  # our own stop, not the worker's: carry on to write the outcome
                if control.stop_reason == "lease_lost":
                    raise LeaseLost(str(loaded.id)) from None
                if control.stop_reason == "shutdown":
                    await release(self.engine, progress, buffer, owner)
                    bound.info("run.released", reason="worker_shutdown")
                    return RunStatus.QUEUED
                outcome = outcomes.cancelled(progress.partial_text)
            except WaitingForChildren as waiting:
                waited = await wait_for_children(self.engine, progress, buffer, owner, waiting.calls)
                if waited == "released":
                    return RunStatus.QUEUED  # its children finished meanwhile: resumed at once, by any worker
                if waited == "waiting":
                    bound.info("run.waiting_for_children", calls=[call.tool_call_id for call in waiting.calls])
                    self.settled_here.publish(loaded.id, None)
                    return RunStatus.WAITING
                outcome = outcomes.cancelled(progress.partial_text)  # flagged: it waits for nothing more
            except PausedForApproval as paused:
                await pause(self.engine, progress, buffer, owner, paused.calls, self.notices)
                bound.info("run.awaiting_approval", calls=[call.tool_call_id for call in paused.calls])
                self.settled_here.publish(loaded.id, None)
                return RunStatus.REQUIRES_ACTION
            except LeaseLost:
                raise  # not the run's failure: another worker has it now (below)
            except Exception as exc:
                if database_unavailable(exc):
                    raise  # not the run's failure either: the worker gives it back when the database answers
                outcome = self._failure(exc, progress, loaded, deadline.expired())
                outcomes.log_failure(bound, outcome, progress.model_name, exc)
                if progress.in_model_request and outcome.error is not None:
                    await record_failed_request(buffer, progress, outcome.error, None, 0)
            row = await settle(self.engine, progress, buffer, owner, outcome, self.notices)
        except LeaseLost:
            bound.warning("run.lease_lost")
            return None
        self.settled_here.publish(loaded.id, row)
        status = RunStatus(row["status"])
        bound.info("run.settled", status=status, requests=progress.usage.get("requests"))
        if status != RunStatus.SUCCEEDED:
            await end_children(self.engine, loaded.id)
        return status

    async def _advance(self, loaded: LoadedRun, pipeline: PipelineSpec, owner: str) -> RunStatus | None:
        """A pipeline run: start its next stage and wait, or settle (see `engine.pipeline`)."""
        try:
            row = await self.pipelines.advance(loaded, pipeline, owner)
        except LeaseLost:
            log.warning("run.lease_lost", run_id=str(loaded.id))
            return None
        self.settled_here.publish(loaded.id, row)
        if row is None:
            return RunStatus.WAITING
        status = RunStatus(row["status"])
        log.info("run.settled", run_id=str(loaded.id), agent=pipeline.name, status=status)
        if status != RunStatus.SUCCEEDED:
            await end_children(self.engine, loaded.id)
        return status

    def _failure(self, exc: Exception, progress: Progress, loaded: LoadedRun, deadline_expired: bool) -> Outcome:
        return outcomes.failure(
            exc,
            partial_text=progress.partial_text,
            deadline_expired=deadline_expired,
            timeout_seconds=(loaded.run.limits or {}).get("timeout_seconds"),
            model_name=progress.model_name,
            redact=self.redact,
        )

    async def _drive_with_retries(self, drive: _Drive) -> Any:
        """`_drive`, made again from the last written step while a model request fails transiently (see
        `model_retry`), at most `model_retries` times in an execution, within the run's deadline; cancel and shutdown
        interrupt the wait."""
        progress, control = drive.progress, drive.control
        failures = 0
        while True:
            try:
                return await self._drive(drive)
            except Exception as exc:
                retryable = outcomes.transient(exc) and progress.in_model_request and control.stop_reason is None
                if not retryable or failures >= self.settings.model_retries:
                    raise
                failures += 1
                delay = backoff(failures, self.settings.model_retry_backoff_seconds)
                error = self._failure(exc, progress, progress.loaded, deadline_expired=False).error
                assert error is not None
                drive.log.warning(
                    "run.model_retry",
                    retry=failures,
                    retry_in=delay,
                    error=error["message"],
                    detail=outcomes.provider_detail(exc),
                )
                await record_failed_request(drive.buffer, progress, error, delay, failures)
                progress.forget_unwritten()  # void now: a cancel during the wait must not keep it as output
            control.interruptible = True
            try:
                await asyncio.sleep(delay)
            finally:
                control.interruptible = False
            progress.restart(await load_run(self.engine, progress.loaded.id, self.agents.history_window))

    async def _drive(self, drive: _Drive) -> Any:
        progress, registered, buffer, control = drive.progress, drive.registered, drive.buffer, drive.control
        owner, attempt = drive.owner, drive.attempt
        loaded = progress.loaded
        run = loaded.run
        limits = run.limits or {}
        deps = AgentDeps(
            user=loaded.principal, request_id=run.request_id, run_id=run.id, context=loaded.context, emit=buffer.add
        )
        ledger = RunLedger(
            engine=self.engine,
            run_id=run.id,
            owner=owner,
            attempt=attempt,
            fresh=not loaded.own,
            model_of=lambda name: self.agents.require(name).model.name,
            tool_timeout_seconds=self.settings.tool_timeout_seconds,
        )
        async with registered.spec.agent.iter(
            None if loaded.own else loaded.prompt,
            message_history=[*loaded.prior, *loaded.own],
            deps=deps,
            model=registered.model.model,
            model_settings=registered.model.settings,
            conversation_id=str(run.thread_id),  # its traces' gen_ai.conversation.id: the thread
            usage_limits=UsageLimits(
                request_limit=limits.get("max_model_requests", 50),
                tool_calls_limit=limits.get("max_tool_calls"),
                cost_limit=run_cost_limit(loaded),
            ),
            usage=RunUsage(**loaded.usage) if loaded.usage else None,
            capabilities=[ledger, *run_gates(self.engine, self.settings, loaded)],
        ) as agent_run:
            asked_whole = False
            async for node in agent_run:
                if asked_whole:  # the step just taken made the model request (not streamed): here is its answer
                    asked_whole = control.interruptible = progress.in_model_request = False
                    assert Agent.is_call_tools_node(node)  # a model request is always followed by its response
                    on_whole_response(node.model_response, progress, buffer)
                    check_finished(node.model_response, registered.model.requires_finish_reason)
                if Agent.is_end_node(node):
                    break
                if Agent.is_call_tools_node(node) and not node.model_response.tool_calls:
                    # A response that calls no tool: nothing runs before the next write (the outcome's, or the
                    # next step's on a retry), so it is written there, saving a transaction per run. Every
                    # outcome writes it (see settling.py); the events are the same, in the same order.
                    progress.deferred = agent_run.new_messages()[progress.persisted :]
                    progress.deferred_text = progress.partial_text
                    progress.usage = usage_dict(agent_run.usage)
                else:
                    await persist(progress, agent_run, buffer)
                if control.stop_reason == "cancel":
                    raise RunCancelled
                if Agent.is_model_request_node(node):
                    progress.request_started_at = utc_now()
                    progress.partial_text = ""
                    progress.in_model_request = control.interruptible = True
                    if not run.stream_tokens:
                        asked_whole = True  # the loop's next step makes the request, interruptible like a stream
                        continue
                    try:
                        async with node.stream(agent_run.ctx) as stream:
                            async for event in stream:
                                on_model_event(event, progress, buffer)
                            check_finished(stream.response, registered.model.requires_finish_reason)
                    finally:
                        control.interruptible = False
                    progress.in_model_request = False
                elif Agent.is_call_tools_node(node):
                    async with node.stream(agent_run.ctx) as tool_stream:
                        async for tool_event in tool_stream:
                            on_tool_event(tool_event, buffer)
            progress.usage = usage_dict(agent_run.usage)
            progress.unwritten = agent_run.new_messages()[progress.persisted :]
            result = agent_run.result
            assert result is not None  # the loop above only ends at the End node
            progress.partial_text = ""
            return to_jsonable_python(result.output, fallback=str)
