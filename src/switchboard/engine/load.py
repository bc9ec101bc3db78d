"""What a worker loads to execute (or resume) a run: the run, who it acts for, the thread's history (its
agent's window of it, see `history`) and the thread's application context as it is now (not as it was when the
run was queued: the client may have changed pages since)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic_ai.messages import ModelMessage, UserContent
from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from switchboard.agents.spec import HistoryWindow
from switchboard.auth.principal import Principal, principal_of
from switchboard.engine.history import read_history
from switchboard.kit.clock import utc_now
from switchboard.models import ApiKey, Run, Thread, ThreadMessage, User
from switchboard.threads.context import turn_prompt


@dataclass
class LoadedRun:
    run: Run
    principal: Principal
    prior: list[ModelMessage]  # the window of the thread's history before this run, made provider-valid
    own: list[ModelMessage]  # what this run wrote before (a resumed run continues from here)
    next_seq: int
    context: dict[str, Any] | None = None  # the thread's application context, read with the run

    @property
    def prompt(self) -> str | list[UserContent]:
        """The user prompt of the run's first step: its message, after the context block when there is one."""
        return turn_prompt(self.run.input, self.context)

    @property
    def id(self) -> uuid.UUID:
        return self.run.id

    @property
    def usage(self) -> dict[str, Any]:
        return self.run.usage or {}

    @property
    def started_at(self) -> datetime | None:
        return self.run.started_at

    def remaining(self) -> float | None:
        """Seconds left of the run's `timeout_seconds` from its start (negative once past); None without one."""
        limit = (self.run.limits or {}).get("timeout_seconds")
        if limit is None:
            return None
        return float(limit) - (utc_now() - (self.started_at or utc_now())).total_seconds()


# The run, who it acts for, the thread's last message number and its context, in one statement.
_RUN = (
    select(
        Run,
        User,
        select(func.max(ThreadMessage.seq)).where(ThreadMessage.thread_id == Run.thread_id).scalar_subquery(),
        Thread.context,
        ApiKey.scopes,
        ApiKey.daily_cost_usd,
    )
    .join(User, User.id == Run.user_id)
    .join(Thread, Thread.id == Run.thread_id)
    .outerjoin(ApiKey, ApiKey.id == Run.api_key_id)
    .where(Run.id == bindparam("run_id"))
)


async def load_run(
    engine: AsyncEngine,
    run_id: uuid.UUID,
    window: Callable[[str], HistoryWindow],
    known: tuple[Run, Principal, dict[str, Any] | None] | None = None,
) -> LoadedRun:
    """`window`: the history window of an agent, by name. `known`: the run as it was claimed, who it acts for and
    its thread's context, when the process that created it executes it (`engine.local`): then only its history is
    read, and for the first run of a thread nothing at all."""
    if known is not None:
        # The context as the creating request read it (the run executes right after that request committed).
        run, principal, context = known
        if run.turn == 1:  # a thread's first run: no messages yet (only runs write them)
            return LoadedRun(run=run, principal=principal, prior=[], own=[], next_seq=1, context=context)
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            known_history = await read_history(connection, run.thread_id, run.id, window(run.agent))
        return LoadedRun(
            run=run,
            principal=principal,
            prior=known_history.prior,
            own=known_history.own,
            next_seq=known_history.last_seq + 1,
            context=context,
        )
    # Reads only, each statement consistent on its own (as under READ COMMITTED in a transaction): autocommit
    # spares the BEGIN and ROLLBACK round trips, and a thread without messages needs no second statement.
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        async with AsyncSession(bind=connection, expire_on_commit=False) as session:
            row = (await session.execute(_RUN, {"run_id": run_id})).one()
            run, user, last_seq, context, key_scopes, key_cap = row
        history = (
            await read_history(connection, run.thread_id, run.id, window(run.agent)) if last_seq is not None else None
        )
    # The run has the rights of the key that created it, never more (a narrowed key's run stays narrowed).
    principal = principal_of(user, key_scopes=key_scopes, key_daily_cost_usd=key_cap)
    if run.acting_user_id is not None:
        principal = replace(principal, acted_by_user_id=run.acting_user_id)
    return LoadedRun(
        run=run,
        principal=principal,
        prior=history.prior if history else [],
        own=history.own if history else [],
        next_seq=int(last_seq or 0) + 1,
        context=context,
    )
