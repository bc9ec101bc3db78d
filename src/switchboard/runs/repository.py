"""Reading runs and their steps for the API. Every status change is in `switchboard.engine.transitions`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.kit.pagination import keyset_page
from switchboard.models import Run, RunStep, ThreadMessage, User
from switchboard.models.runs import ACTIVE, RunStatus, StepStatus


@dataclass(frozen=True)
class RunFilter:
    thread_id: uuid.UUID | None = None
    agent: str | None = None
    status: RunStatus | None = None
    parent_id: uuid.UUID | None = None
    created_from: datetime | None = None  # created at or after this instant
    created_before: datetime | None = None  # created before this instant


class RunRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def owned(self, user_id: int | None, run_id: uuid.UUID, *, for_update: bool = False) -> Run | None:
        """The user's run (None for another user's; any user's when `user_id` is None, for an admin);
        `for_update` locks it until commit and re-reads it."""
        query = select(Run).where(Run.id == run_id)
        if user_id is not None:
            query = query.where(Run.user_id == user_id)
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def by_id(self, run_id: uuid.UUID) -> Run:
        return await self.session.get_one(Run, run_id, populate_existing=True)

    async def page(
        self, user_id: int, where: RunFilter, limit: int, cursor: str | None
    ) -> tuple[list[Run], str | None]:
        """The user's runs, newest first."""
        query = select(Run).where(Run.user_id == user_id)
        if where.thread_id is not None:
            query = query.where(Run.thread_id == where.thread_id)
        if where.agent is not None:
            query = query.where(Run.agent == where.agent)
        if where.status is not None:
            query = query.where(Run.status == where.status)
        if where.parent_id is not None:
            query = query.where(Run.parent_id == where.parent_id)
        if where.created_from is not None:
            query = query.where(Run.created_at >= where.created_from)
        if where.created_before is not None:
            query = query.where(Run.created_at < where.created_before)
        return await keyset_page(
            self.session, query, [Run.created_at, Run.id], limit=limit, cursor=cursor, descending=True
        )

    async def descendants(self, run_id: uuid.UUID) -> list[Run]:
        """The run's children, their children and so on, in the order they were created."""
        tree = select(Run.id).where(Run.parent_id == run_id).cte("tree", recursive=True)
        tree = tree.union_all(select(Run.id).join(tree, Run.parent_id == tree.c.id))
        return list(
            await self.session.scalars(select(Run).where(Run.id.in_(select(tree.c.id))).order_by(Run.queue_seq))
        )

    async def active_on_thread(self, thread_id: uuid.UUID) -> list[Run]:
        """The thread's unfinished runs in queue order, locked until commit (`NO KEY UPDATE`: see `engine.children`)."""
        query = select(Run).where(Run.thread_id == thread_id, Run.status.in_(ACTIVE)).order_by(Run.queue_seq)
        return list(await self.session.scalars(query.with_for_update(key_share=True)))

    async def steps(self, run_id: uuid.UUID) -> list[RunStep]:
        query = select(RunStep).where(RunStep.run_id == run_id).order_by(RunStep.started_at, RunStep.id)
        return list(await self.session.scalars(query))

    async def step_for_call(self, run_id: uuid.UUID, tool_call_id: str) -> RunStep | None:
        query = select(RunStep).where(RunStep.run_id == run_id, RunStep.tool_call_id == tool_call_id)
        return await self.session.scalar(query)

    async def pending_approvals(self, run_id: uuid.UUID) -> list[RunStep]:
        """Tool calls of the run waiting for a decision, oldest first."""
        return (await self.pending_by_run([run_id])).get(run_id, [])

    async def pending_by_run(self, run_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[RunStep]]:
        """The tool calls waiting for a decision of each of the runs, oldest first, in one query."""
        if not run_ids:
            return {}
        query = select(RunStep).where(RunStep.run_id.in_(run_ids), _AWAITING).order_by(RunStep.id)
        pending: dict[uuid.UUID, list[RunStep]] = {}
        for step in await self.session.scalars(query):
            pending.setdefault(step.run_id, []).append(step)
        return pending

    async def approval_queue(
        self, user_id: int | None, limit: int, cursor: str | None
    ) -> tuple[list[tuple[RunStep, Run]], str | None]:
        """Tool calls awaiting a decision in paused runs, oldest first: one user's (`user_id`) or everyone's."""
        query = (
            select(RunStep)
            .join(Run, Run.id == RunStep.run_id)
            .where(_AWAITING, Run.status == RunStatus.REQUIRES_ACTION)
        )
        if user_id is not None:
            query = query.where(Run.user_id == user_id)
        steps, next_cursor = await keyset_page(self.session, query, [RunStep.id], limit=limit, cursor=cursor)
        runs = {
            run.id: run for run in await self.session.scalars(select(Run).where(Run.id.in_({s.run_id for s in steps})))
        }
        return [(step, runs[step.run_id]) for step in steps], next_cursor

    async def approvals_waiting(self, user_id: int | None) -> int:
        """How many tool calls `approval_queue` holds (the console's menu shows it)."""
        query = (
            select(func.count())
            .select_from(RunStep)
            .join(Run, Run.id == RunStep.run_id)
            .where(_AWAITING, Run.status == RunStatus.REQUIRES_ACTION)
        )
        if user_id is not None:
            query = query.where(Run.user_id == user_id)
        return int(await self.session.scalar(query) or 0)

    async def recent_messages(
        self, thread_ids: Sequence[uuid.UUID], per_thread: int
    ) -> dict[uuid.UUID, list[ThreadMessage]]:
        """The last `per_thread` messages of each thread, oldest first, in one query (the console's approvals
        inbox shows the conversation that led to each call). The caller has authorized the threads' runs."""
        if not thread_ids:
            return {}
        rank = func.row_number().over(partition_by=ThreadMessage.thread_id, order_by=ThreadMessage.seq.desc())
        ranked = select(ThreadMessage.id, rank.label("rank")).where(ThreadMessage.thread_id.in_(thread_ids)).subquery()
        query = (
            select(ThreadMessage)
            .join(ranked, ranked.c.id == ThreadMessage.id)
            .where(ranked.c.rank <= per_thread)
            .order_by(ThreadMessage.thread_id, ThreadMessage.seq)
        )
        recent: dict[uuid.UUID, list[ThreadMessage]] = {}
        for message in await self.session.scalars(query):
            recent.setdefault(message.thread_id, []).append(message)
        return recent

    async def user_emails(self, user_ids: Sequence[int]) -> dict[int, str]:
        """The users' emails by id, in one query (whose run it is, who decided, where the console shows runs
        of several users)."""
        if not user_ids:
            return {}
        rows = await self.session.execute(select(User.id, User.email).where(User.id.in_(set(user_ids))))
        return {user_id: email for user_id, email in rows}


_AWAITING = (RunStep.status == StepStatus.AWAITING_APPROVAL) & RunStep.approved.is_(None)
