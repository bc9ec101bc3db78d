"""Runs as the API sees them: create (with the thread and agent rules), read, list, cancel, approve.

Everything happens in the caller's unit of work: a run is queued by the same commit that records the request,
so it can never be accepted and then lost. The status changes themselves are `engine.transitions` statements;
this module decides which one applies.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.registry import AgentRegistry
from switchboard.agents.spec import ConcurrencyLimit
from switchboard.auth.principal import Principal
from switchboard.engine import journal, queue, transitions
from switchboard.engine.limits import busy_in_group, group_of, lock_group
from switchboard.engine.queue import Claimed, ClaimNow, NewRun
from switchboard.kit.clock import utc_now
from switchboard.kit.db import Database
from switchboard.kit.errors import Conflict, NotFound
from switchboard.limits.admission import admit_run
from switchboard.models import Run, RunStep, Thread
from switchboard.models.runs import FINAL, MultitaskStrategy, RunStatus, StepStatus
from switchboard.notifications.targets import stored
from switchboard.observability.tracing import current_carrier
from switchboard.pipelines.spec import PipelineSpec
from switchboard.runs.cancelling import cancel_locked
from switchboard.runs.repository import RunFilter, RunRepository
from switchboard.runs.schemas import ApprovalDecision, ChildRunOut, PendingApproval, RunCreate, RunOut
from switchboard.settings import Settings
from switchboard.threads.service import ThreadService
from switchboard.usage.budgets import check_budget


@dataclass(frozen=True)
class RunOrigin:
    """What created a run when not a request of its user: a schedule (at its tick `scheduled_for`, None for
    "run now") or a trigger's event. `notify`: their targets, already stored (checked when they were saved)."""

    schedule_id: uuid.UUID | None = None
    scheduled_for: datetime | None = None
    trigger_id: uuid.UUID | None = None
    notify: list[dict[str, Any]] | None = None


class RunService:
    def __init__(self, session: AsyncSession, agents: AgentRegistry, settings: Settings) -> None:
        self.session = session
        self.agents = agents
        self.settings = settings
        self.runs = RunRepository(session)
        self.threads = ThreadService(session)

    # --- create ---

    async def create(
        self,
        user: Principal,
        body: RunCreate,
        *,
        request_id: str | None = None,
        thread_key: str | None = None,
        refuse_behind_approval: bool = False,
        claim: ClaimNow | None = None,
        stream_tokens: bool = True,
        origin: RunOrigin | None = None,
    ) -> tuple[Run, Claimed | None]:
        """`refuse_behind_approval`: a conversation turn is refused (409) while a run of the thread waits for an
        approval, instead of queueing behind it: the person has to decide first, and should be told so now.
        `claim`: claim the run for that worker of this process as it is created, when it may start at once (its
        thread is free, its agent has no concurrency limit); the `Claimed` says it was. `stream_tokens`: False
        when the requester waits for the whole answer (the model is asked for each response whole). `origin`: the
        schedule or trigger that creates the run."""
        origin = origin or RunOrigin()
        runnable = self.agents.require_runnable(body.agent)
        # A pipeline has no model of its own (its steps' runs have theirs) and no concurrency limit.
        registered = None if isinstance(runnable, PipelineSpec) else runnable
        if origin.trigger_id is None:
            # A trigger's run carries its event as data, bounded by SWITCHBOARD_TRIGGER_MAX_PAYLOAD_BYTES instead.
            self.agents.check_input(body.agent, body.message, "message")
        notify = origin.notify if origin.notify is not None else await stored(self.settings, body.notify)
        connection = await self.session.connection()
        await check_budget(connection, self.settings, user, body.agent)
        await admit_run(connection, self.settings, user)
        thread, created = await self._thread(user, body, thread_key)
        free = created or await self._admit(thread, body, refuse_behind_approval, look=claim is not None)
        if registered is not None:
            await self._check_agent_limit(registered.spec.name, registered.spec.concurrency)
        if not created:  # a thread made just now has its first turn counted already
            thread.turns += 1
            thread.updated_at = utc_now()
            await self.session.flush()
        run = NewRun(
            id=uuid.uuid4(),
            user_id=user.user_id,
            thread_id=thread.id,
            turn=thread.turns,
            agent=body.agent,
            input=body.message,
            multitask_strategy=body.multitask_strategy,
            metadata=body.metadata,
            limits=body.limits.model_dump(exclude_none=True),
            model_name=registered.model.name if registered is not None else None,
            request_id=request_id,
            acting_user_id=user.acted_by_user_id,
            stream_tokens=stream_tokens,
            notify=notify or None,
            schedule_id=origin.schedule_id,
            scheduled_for=origin.scheduled_for,
            trigger_id=origin.trigger_id,
            api_key_id=user.api_key_id,
            trace_context=current_carrier(),
        )
        claimed = await queue.enqueue(connection, run, claim if free else None)
        if claimed is not None:  # executed at once in this process: its thread's context goes with it
            claimed = replace(claimed, context=thread.context)
        return await self.runs.by_id(run.id), claimed

    async def _admit(self, thread: Thread, body: RunCreate, refuse_behind_approval: bool, *, look: bool) -> bool:
        """Apply the thread's rules to a new run (refused behind an approval; the multitask strategy); returns
        whether no other run holds the thread or waits for it (the new run may start at once). `look`: find
        that out even where the rules need not (`enqueue`)."""
        if thread.turns == 0:
            return True  # a thread no run was ever created on: none to look at
        strategy = body.multitask_strategy
        if not (refuse_behind_approval or look or strategy != MultitaskStrategy.ENQUEUE):
            return False
        active = await self.runs.active_on_thread(thread.id)
        if not active:
            return True
        paused = [run for run in active if run.status == RunStatus.REQUIRES_ACTION]
        if refuse_behind_approval and paused:
            await self._refuse_behind_approval(paused[0])
        if strategy == MultitaskStrategy.REJECT:
            busy = active[0]
            raise Conflict(
                f"Thread {thread.id} is busy: run {busy.id} is {busy.status}. Retry when it has finished, or "
                "create the run with multitask_strategy 'enqueue' (wait) or 'interrupt' (cancel it)."
            )
        if strategy == MultitaskStrategy.INTERRUPT:
            for run in active:  # their children, if any: by the sweeper, once this has committed
                await cancel_locked(await self.session.connection(), self.settings, run.id, reason="interrupted")
        return False

    async def _thread(self, user: Principal, body: RunCreate, thread_key: str | None) -> tuple[Thread, bool]:
        """The run's thread, and whether it was made just now (for this run)."""
        # The thread row is locked until commit: creates on one thread are decided one at a time.
        if body.thread_id is not None:
            return await self.threads.of_agent(
                user, body.thread_id, body.agent, field="thread_id", for_update=True
            ), False
        if thread_key is not None:
            return await self.threads.keyed_for_update(user, body.agent, thread_key), False
        return await self.threads.create_for_run(user, body.agent), True

    async def _refuse_behind_approval(self, run: Run) -> None:
        calls = "; ".join(
            f"{step.tool_name} {json.dumps(step.args)} (tool_call_id {step.tool_call_id})"
            for step in await self.runs.pending_approvals(run.id)
        )
        raise Conflict(
            f"Run {run.id} of this conversation is waiting for approval of: {calls}. Decide first with POST "
            f'/v1/runs/{run.id}/approvals {{"tool_call_id": "…", "approve": true or false}} (or cancel it with '
            f"POST /v1/runs/{run.id}/cancel), then send your message again."
        )

    async def _check_agent_limit(self, agent: str, limit: ConcurrencyLimit | None) -> None:
        if limit is None or limit.on_busy != "reject":
            return
        group = group_of(self.agents, agent)
        assert group is not None
        # The group's lock serialises every create of this group (and the workers' claims): of N simultaneous
        # requests for the last free slot, exactly one sees it free.
        connection = await self.session.connection()
        await lock_group(connection, group)
        if await busy_in_group(connection, group) >= group.max_runs:
            what = f"agent {agent!r}" if group.agents == (agent,) else f"the agents {', '.join(group.agents)}"
            raise Conflict(
                f"An agent is already running, please retry later: {what} may run {group.max_runs} at a time "
                "and the limit is reached."
            )

    # --- read ---

    async def get(
        self, user: Principal, run_id: uuid.UUID, *, for_update: bool = False, any_user_if_admin: bool = False
    ) -> Run:
        """The caller's run; another user's is not found, except for an admin where `any_user_if_admin`."""
        owner = None if any_user_if_admin and user.is_admin else user.user_id
        run = await self.runs.owned(owner, run_id, for_update=for_update)
        if run is None:
            raise NotFound(f"Run {run_id} not found.")
        return run

    async def out(self, run: Run) -> RunOut:
        return (await self.outs([run]))[0]

    async def outs(self, runs: list[Run]) -> list[RunOut]:
        """Runs as the API shows them, with their pending approvals (one query for the lot)."""
        paused = [run.id for run in runs if run.status == RunStatus.REQUIRES_ACTION]
        pending = await self.runs.pending_by_run(paused)
        outs = [RunOut.model_validate(run) for run in runs]
        for out in outs:
            out.pending_approvals = [PendingApproval.model_validate(s) for s in pending.get(out.id, [])]
        return outs

    async def tree(self, run: Run) -> RunOut:
        """The run with its child runs as a tree (`children`), read in one query."""
        out = await self.out(run)
        out.children = []
        if not self.agents.may_have_children(run.agent):
            return out  # the run clients poll most: no tree query for an agent that never has children
        nodes: dict[uuid.UUID, ChildRunOut] = {}
        top: list[ChildRunOut] = []
        for child in await self.runs.descendants(run.id):  # parents come before their children (creation order)
            node = nodes[child.id] = ChildRunOut.model_validate(child)
            siblings = top if child.parent_id == run.id else nodes[child.parent_id].children  # type: ignore[index]
            siblings.append(node)
        out.children = top
        return out

    async def page(
        self, user: Principal, where: RunFilter, limit: int, cursor: str | None
    ) -> tuple[list[Run], str | None]:
        return await self.runs.page(user.user_id, where, limit, cursor)

    async def steps(self, user: Principal, run_id: uuid.UUID) -> list[RunStep]:
        return await self.runs.steps((await self.get(user, run_id)).id)

    # --- cancel ---

    @classmethod
    async def cancel_with_children(
        cls, db: Database, agents: AgentRegistry, settings: Settings, user: Principal, run_id: uuid.UUID
    ) -> RunOut:
        """Cancel as `POST /v1/runs/{id}/cancel` and the console do it: the run in one unit of work, then its
        children in a second, once the run's own cancel has committed, never in the transaction that holds the run
        (`engine.children`: a child's row is locked before its parent's; should this process stop in between, the
        sweeper's `cancel_orphans` does it). Returns the run as its own cancel left it; 409 if it had finished."""
        async with db.unit_of_work() as session:
            service = cls(session, agents, settings)
            run = await service.get(user, run_id)
            status = await cancel_locked(await session.connection(), settings, run.id, reason="cancelled by the user")
            if status in FINAL:
                raise Conflict(f"Run {run_id} has already finished ({status}); there is nothing to cancel.")
            cancelled = await service.out(await service.runs.by_id(run.id))
        async with db.unit_of_work() as session:
            connection = await session.connection()
            await transitions.cancel_descendants(connection, run_id, f"its parent run {run_id} was cancelled")
        return cancelled

    # --- approvals ---

    async def approval_queue(
        self, user: Principal, limit: int, cursor: str | None
    ) -> tuple[list[tuple[RunStep, Run]], str | None]:
        """Tool calls awaiting a decision: the caller's own; for an admin, everyone's."""
        return await self.runs.approval_queue(None if user.is_admin else user.user_id, limit, cursor)

    async def decide(self, user: Principal, run_id: uuid.UUID, decision: ApprovalDecision) -> Run:
        """The run's owner decides; so may an admin, for anyone (recorded as `decided_by`)."""
        run = await self.get(user, run_id, for_update=True, any_user_if_admin=True)
        if run.status != RunStatus.REQUIRES_ACTION:
            raise Conflict(
                f"Run {run_id} has no tool call waiting for a decision: it is {run.status} (decided elsewhere, or "
                "ended). Approvals are taken only while a run is requires_action."
            )
        step = await self.runs.step_for_call(run.id, decision.tool_call_id)
        if step is None or step.status != StepStatus.AWAITING_APPROVAL:
            raise NotFound(f"No tool call {decision.tool_call_id!r} awaits approval in run {run_id}.")
        if step.approved is not None:
            verdict = "approved" if step.approved else "denied"
            raise Conflict(f"Tool call {decision.tool_call_id!r} was already {verdict}.")
        step.approved = decision.approve
        step.decision_reason = decision.reason
        step.decided_by = user.acted_by_user_id or user.user_id
        step.decided_at = utc_now()
        await self.session.flush()
        connection = await self.session.connection()
        decided: journal.Event = (
            "approval_decided",
            {
                "tool_call_id": decision.tool_call_id,
                "approved": decision.approve,
                "reason": decision.reason,
                "decided_by": step.decided_by,
            },
        )
        if await self.runs.pending_approvals(run.id):
            await journal.append(connection, run.id, [decided])
        else:
            await transitions.requeue_approved(connection, run.id, [decided])
        return await self.runs.by_id(run.id)
