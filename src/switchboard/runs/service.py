"""Runs as the API sees them: create (with the thread and agent rules), read, list, cancel, approve.

Everything happens in the caller's unit of work: a run is queued by the same commit that records the request,
so it can never be accepted and then lost. NOTIFY is sent in that transaction and delivered at commit.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.registry import AgentRegistry
from switchboard.auth.principal import Principal
from switchboard.kit.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from switchboard.kit.pagination import decode_time_id_cursor, encode_time_id_cursor
from switchboard.models import Run, RunStep, Thread
from switchboard.models.runs import FINAL_STATUSES
from switchboard.runs import journal
from switchboard.runs.channels import RUN_CANCEL, RUNS_READY
from switchboard.runs.limits import group_of
from switchboard.runs.schemas import ApprovalDecision, PendingApproval, RunCreate, RunLimits, RunOut, StepOut
from switchboard.settings import Settings
from switchboard.threads.service import ThreadService

ACTIVE_STATUSES = ("queued", "running", "requires_action")


def _now() -> datetime:
    return datetime.now(UTC)


def run_out(run: Run, pending: list[RunStep] | None = None) -> RunOut:
    return RunOut(
        id=run.id,
        thread_id=run.thread_id,
        agent=run.agent,
        status=run.status,
        message=run.input,
        output=run.output,
        error=run.error,
        pending_approvals=[
            PendingApproval(tool_call_id=s.tool_call_id or "", tool_name=s.tool_name or "", args=s.args)
            for s in pending or []
        ],
        usage=run.usage or {},
        model=run.model_name,
        multitask_strategy=run.multitask_strategy,
        metadata=run.metadata_,
        limits=RunLimits.model_validate(run.limits or {}),
        attempts=run.attempts,
        last_event_id=run.event_seq,
        request_id=run.request_id,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )


def step_out(step: RunStep) -> StepOut:
    duration = (step.finished_at - step.started_at).total_seconds() * 1000 if step.finished_at else None
    return StepOut(
        kind=step.kind,
        status=step.status,
        attempt=step.attempt,
        tool_call_id=step.tool_call_id,
        tool_name=step.tool_name,
        args=step.args,
        result=step.result,
        model=step.model_name,
        usage=step.usage,
        approved=step.approved,
        decision_reason=step.decision_reason,
        started_at=step.started_at,
        finished_at=step.finished_at,
        duration_ms=duration,
    )


class RunService:
    def __init__(self, session: AsyncSession, agents: AgentRegistry, settings: Settings) -> None:
        self.session = session
        self.agents = agents
        self.settings = settings
        self.threads = ThreadService(session)

    # --- create ---

    async def create(
        self,
        user: Principal,
        body: RunCreate,
        *,
        request_id: str | None = None,
        thread_key: str | None = None,
    ) -> Run:
        if len(body.message) > self.settings.max_prompt_chars:
            raise PayloadTooLarge(
                f"message is {len(body.message)} characters; the limit is {self.settings.max_prompt_chars} "
                "(SWITCHBOARD_MAX_PROMPT_CHARS)."
            )
        registered = self.agents.require(body.agent)
        thread = await self._thread(user, body, thread_key)
        await self._apply_strategy(thread, body)
        await self._check_agent_limit(registered.spec.name, registered.spec.concurrency)
        thread.turns += 1
        thread.updated_at = _now()
        run = Run(
            id=uuid.uuid4(),
            user_id=user.user_id,
            thread_id=thread.id,
            turn=thread.turns,
            agent=body.agent,
            status="queued",
            input=body.message,
            multitask_strategy=body.multitask_strategy,
            metadata_=body.metadata,
            limits=body.limits.model_dump(exclude_none=True),
            request_id=request_id,
            acting_user_id=user.acted_by_user_id,
            model_name=registered.model.name,
        )
        self.session.add(run)
        await self.session.flush()
        connection = await self.session.connection()
        status = {"status": "queued", "run_id": str(run.id), "thread_id": str(thread.id), "agent": run.agent}
        await journal.append(connection, run.id, [("status", status)])
        await journal.notify(connection, RUNS_READY)
        await self.session.refresh(run)
        return run

    async def _thread(self, user: Principal, body: RunCreate, thread_key: str | None) -> Thread:
        # The thread row is locked until commit: creates on one thread are decided one at a time.
        if body.thread_id is not None:
            thread = await self.threads.get(user, body.thread_id, for_update=True)
            if thread.agent != body.agent:
                raise ValidationFailed(
                    f"thread_id: thread {body.thread_id} belongs to agent {thread.agent!r}, not {body.agent!r}",
                    details=[{"field": "thread_id", "message": "belongs to another agent"}],
                )
            return thread
        if thread_key is not None:
            return await self.threads.keyed_for_update(user, body.agent, thread_key)
        return await self.threads.create(user, body.agent)

    async def _apply_strategy(self, thread: Thread, body: RunCreate) -> None:
        active = list(
            await self.session.scalars(
                select(Run)
                .where(Run.thread_id == thread.id, Run.status.in_(ACTIVE_STATUSES))
                .order_by(Run.queue_seq)
                .with_for_update()
            )
        )
        if not active or body.multitask_strategy == "enqueue":
            return
        if body.multitask_strategy == "reject":
            busy = active[0]
            raise Conflict(
                f"Thread {thread.id} is busy: run {busy.id} is {busy.status}. Retry when it has finished, or "
                "create the run with multitask_strategy 'enqueue' (wait) or 'interrupt' (cancel it)."
            )
        for run in active:  # interrupt
            await self._cancel(run, reason="interrupted")

    async def _check_agent_limit(self, agent: str, limit: Any) -> None:
        if limit is None or limit.on_busy != "reject":
            return
        group = group_of(self.agents, agent)
        assert group is not None
        # Serialises every create of this group (and the workers' claims): of N simultaneous requests for
        # the last free slot, exactly one sees it free.
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"switchboard.limit:{group.key}"}
        )
        busy = await self.session.scalar(
            select(func.count()).where(Run.agent.in_(group.agents), Run.status.in_(("queued", "running")))
        )
        if int(busy or 0) >= group.max_runs:
            what = f"agent {agent!r}" if group.agents == (agent,) else f"the agents {', '.join(group.agents)}"
            raise Conflict(
                f"An agent is already running, please retry later: {what} may run {group.max_runs} at a time "
                "and the limit is reached."
            )

    # --- read ---

    async def get(self, user: Principal, run_id: uuid.UUID, *, for_update: bool = False) -> Run:
        query = select(Run).where(Run.id == run_id, Run.user_id == user.user_id)
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        run = await self.session.scalar(query)
        if run is None:
            raise NotFound(f"Run {run_id} not found.")
        return run

    async def out(self, run: Run) -> RunOut:
        pending = await self.pending_approvals(run) if run.status == "requires_action" else []
        return run_out(run, pending)

    async def pending_approvals(self, run: Run) -> list[RunStep]:
        return list(
            await self.session.scalars(
                select(RunStep)
                .where(RunStep.run_id == run.id, RunStep.status == "awaiting_approval", RunStep.approved.is_(None))
                .order_by(RunStep.id)
            )
        )

    async def page(
        self,
        user: Principal,
        limit: int,
        cursor: str | None,
        *,
        thread_id: uuid.UUID | None = None,
        agent: str | None = None,
        status: str | None = None,
    ) -> tuple[list[Run], str | None]:
        query = select(Run).where(Run.user_id == user.user_id)
        if thread_id is not None:
            query = query.where(Run.thread_id == thread_id)
        if agent is not None:
            query = query.where(Run.agent == agent)
        if status is not None:
            query = query.where(Run.status == status)
        if cursor is not None:
            created_at, run_id = decode_time_id_cursor(cursor)
            query = query.where(or_(Run.created_at < created_at, and_(Run.created_at == created_at, Run.id < run_id)))
        runs = list(await self.session.scalars(query.order_by(Run.created_at.desc(), Run.id.desc()).limit(limit + 1)))
        more = len(runs) > limit
        runs = runs[:limit]
        return runs, encode_time_id_cursor(runs[-1].created_at, runs[-1].id) if more else None

    async def steps(self, user: Principal, run_id: uuid.UUID) -> list[RunStep]:
        run = await self.get(user, run_id)
        return list(
            await self.session.scalars(
                select(RunStep).where(RunStep.run_id == run.id).order_by(RunStep.started_at, RunStep.id)
            )
        )

    # --- cancel ---

    async def cancel(self, user: Principal, run_id: uuid.UUID) -> Run:
        run = await self.get(user, run_id, for_update=True)
        if run.status in FINAL_STATUSES:
            raise Conflict(f"Run {run_id} has already finished ({run.status}); there is nothing to cancel.")
        await self._cancel(run, reason="cancelled by the user")
        await self.session.refresh(run)
        return run

    async def _cancel(self, run: Run, *, reason: str) -> None:
        """Queued or paused: cancelled now. Running: flagged, and its worker stops it between steps or mid-stream."""
        connection = await self.session.connection()
        if run.status == "running":
            await self.session.execute(
                text("UPDATE runs SET cancel_requested = true, updated_at = now() WHERE id = :id"), {"id": run.id}
            )
            await journal.append(connection, run.id, [("cancel_requested", {"reason": reason})])
            await journal.notify(connection, RUN_CANCEL, str(run.id))
            return
        data = {"status": "cancelled", "reason": reason}
        await journal.append(connection, run.id, [("status", data), ("end", {**data, "output": None, "error": None})])
        await self.session.execute(
            text(
                "UPDATE runs SET status = 'cancelled', cancel_requested = true, finished_at = now(), "
                "updated_at = now() WHERE id = :id"
            ),
            {"id": run.id},
        )
        await journal.notify(connection, RUNS_READY)

    # --- approvals ---

    async def decide(self, user: Principal, run_id: uuid.UUID, decision: ApprovalDecision) -> Run:
        run = await self.get(user, run_id, for_update=True)
        if run.status != "requires_action":
            raise Conflict(f"Run {run_id} is {run.status}; approvals are taken only while it is requires_action.")
        step = await self.session.scalar(
            select(RunStep).where(RunStep.run_id == run.id, RunStep.tool_call_id == decision.tool_call_id)
        )
        if step is None or step.status != "awaiting_approval":
            raise NotFound(f"No tool call {decision.tool_call_id!r} awaits approval in run {run_id}.")
        if step.approved is not None:
            verdict = "approved" if step.approved else "denied"
            raise Conflict(f"Tool call {decision.tool_call_id!r} was already {verdict}.")
        step.approved = decision.approve
        step.decision_reason = decision.reason
        step.decided_by = user.acted_by_user_id or user.user_id
        step.decided_at = _now()
        await self.session.flush()
        connection = await self.session.connection()
        events: list[journal.Event] = [
            (
                "approval_decided",
                {"tool_call_id": decision.tool_call_id, "approved": decision.approve, "reason": decision.reason},
            )
        ]
        if not await self.pending_approvals(run):
            events.append(("status", {"status": "queued", "reason": "approvals_decided"}))
            await self.session.execute(
                text("UPDATE runs SET status = 'queued', attempts = attempts - 1, updated_at = now() WHERE id = :id"),
                {"id": run.id},
            )
            await journal.notify(connection, RUNS_READY)
        await journal.append(connection, run.id, events)
        await self.session.refresh(run)
        return run
