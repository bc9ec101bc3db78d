"""What a worker loads to execute (or resume) a run: the run, who it acts for, and the thread's history."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter, repair_messages
from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from switchboard.auth.principal import Principal, principal_of
from switchboard.models import Run, ThreadMessage, User
from switchboard.models.runs import RunStatus


@dataclass
class LoadedRun:
    run: Run
    principal: Principal
    prior: list[ModelMessage]  # the thread's history before this run, made provider-valid
    own: list[ModelMessage]  # what this run wrote before (a resumed run continues from here)
    next_seq: int

    @property
    def id(self) -> uuid.UUID:
        return self.run.id

    @property
    def usage(self) -> dict[str, Any]:
        return self.run.usage or {}

    @property
    def started_at(self) -> datetime | None:
        return self.run.started_at


# The run, who it acts for, and the thread's last message number, in one statement.
_RUN = (
    select(
        Run,
        User,
        select(func.max(ThreadMessage.seq)).where(ThreadMessage.thread_id == Run.thread_id).scalar_subquery(),
    )
    .join(User, User.id == Run.user_id)
    .where(Run.id == bindparam("run_id"))
)
# Failed runs are left out of later history (their prompt never got an answer worth keeping); cancelled and
# timed-out runs keep what they produced.
_FAILED = select(Run.id).where(Run.thread_id == bindparam("thread_id"), Run.status == RunStatus.FAILED)
_MESSAGES = (
    select(ThreadMessage.run_id, ThreadMessage.message)
    .where(
        ThreadMessage.thread_id == bindparam("thread_id"),
        or_(ThreadMessage.run_id.is_(None), ThreadMessage.run_id.not_in(_FAILED)),
    )
    .order_by(ThreadMessage.seq)
)


async def load_run(engine: AsyncEngine, run_id: uuid.UUID) -> LoadedRun:
    # Reads only, each statement consistent on its own (as under READ COMMITTED in a transaction): autocommit
    # spares the BEGIN and ROLLBACK round trips, and a thread without messages needs no second statement.
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        async with AsyncSession(bind=connection, expire_on_commit=False) as session:
            run, user, last_seq = (await session.execute(_RUN, {"run_id": run_id})).one()
            rows = (
                (await session.execute(_MESSAGES, {"thread_id": run.thread_id})).all() if last_seq is not None else []
            )
    principal = principal_of(user)
    if run.acting_user_id is not None:
        principal = replace(principal, acted_by_user_id=run.acting_user_id)
    prior_rows = [message for owner, message in rows if owner != run_id]
    own_rows = [message for owner, message in rows if owner == run_id]
    prior = repair_messages(ModelMessagesTypeAdapter.validate_python(prior_rows)) if prior_rows else []
    own = ModelMessagesTypeAdapter.validate_python(own_rows) if own_rows else []
    return LoadedRun(run=run, principal=principal, prior=prior, own=own, next_seq=int(last_seq or 0) + 1)
