"""Into the queue and out of it: `enqueue` (queued, or claimed at once by a worker of the creating process) and
`claim` (the oldest eligible runs, for a worker). The runs table is the queue; the other status changes are in
`transitions`. Each function runs in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.auth.principal import Principal
from switchboard.engine import journal
from switchboard.engine.channels import RUN_EVENTS, RUNS_READY
from switchboard.engine.journal import dumps
from switchboard.engine.limits import LimitGroup, lock_group, running_in_group
from switchboard.models import Run
from switchboard.models.base import sql_list
from switchboard.models.runs import HOLDS_THREAD, MultitaskStrategy, RunStatus
from switchboard.observability.metrics import RUNS_CREATED
from switchboard.observability.tracing import current_carrier

S = RunStatus  # the statements below read better with short names


@dataclass(frozen=True)
class NewRun:
    id: uuid.UUID
    user_id: int
    thread_id: uuid.UUID
    turn: int
    agent: str
    input: str
    multitask_strategy: MultitaskStrategy
    metadata: dict[str, Any]
    limits: dict[str, Any]
    model_name: str | None  # None for a pipeline: its steps' runs have their models
    request_id: str | None
    acting_user_id: int | None
    stream_tokens: bool = True
    notify: list[dict[str, Any]] | None = None  # stored form (`notifications.targets`)
    schedule_id: uuid.UUID | None = None
    scheduled_for: datetime | None = None
    trigger_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None  # a child run (`engine.children`): its parent and its step there
    step: str | None = None
    api_key_id: int | None = None  # the creating request's key (per-key budgets)
    trace_context: dict[str, str] | None = None  # the creating request's trace (`observability.tracing`)


@dataclass(frozen=True)
class Claimed:
    run_id: uuid.UUID
    attempt: int
    # The request that created the run: bound to the worker's log lines while it executes the run.
    request_id: str | None = field(default=None, compare=False)
    # Claimed as it was created, in this process (`ClaimNow`): the run as claimed, who it acts for and its thread's
    # context, so the worker need not read them back.
    known: tuple[Run, Principal, dict[str, Any] | None] | None = field(default=None, compare=False)
    # The thread's application context as the creating request saw it (`known` carries it to the worker).
    context: dict[str, Any] | None = field(default=None, compare=False)
    # Its agent, and the trace of the request that created it: the worker's span for the execution joins it.
    agent: str | None = field(default=None, compare=False)
    trace_context: dict[str, str] | None = field(default=None, compare=False)


_COLUMNS = """id, user_id, thread_id, turn, agent, input, multitask_strategy, metadata, limits, model_name, request_id,
acting_user_id, stream_tokens, notify, schedule_id, scheduled_for, trigger_id, parent_id, step, api_key_id,
trace_context"""
_VALUES = """:id, :user_id, :thread_id, :turn, :agent, :input, :multitask_strategy, CAST(:metadata AS jsonb),
CAST(:limits AS jsonb), :model_name, :request_id, :acting_user_id, :stream_tokens, CAST(:notify AS jsonb),
:schedule_id, :scheduled_for, :trigger_id, :parent_id, :step, :api_key_id, CAST(:trace_context AS jsonb)"""
_ENQUEUE = text(f"INSERT INTO runs ({_COLUMNS}, status) VALUES ({_VALUES}, '{S.QUEUED}')")
# The same run, claimed in the same statement by a worker of the creating process (`ClaimNow`): what `_CLAIM`
# would write, without the queue's round trip.
_ENQUEUE_CLAIMED = text(f"""
INSERT INTO runs ({_COLUMNS}, status, attempts, lease_owner, worker_id, lease_expires_at, started_at)
VALUES ({_VALUES}, '{S.RUNNING}', 1, :owner, :owner, clock_timestamp() + make_interval(secs => :lease),
        clock_timestamp())
""")


@dataclass(frozen=True)
class ClaimNow:
    """Claim the new run for this worker as it is created (see `enqueue`)."""

    owner: str
    lease_seconds: float


async def enqueue(connection: AsyncConnection, run: NewRun, claim: ClaimNow | None = None) -> Claimed | None:
    """Queue a new run with its first event. Committed with the request that creates it, so a run is never
    accepted and then lost, nor visible to workers before the rest of the request is.

    With `claim`, the run is claimed by that worker in the same transaction (the caller has checked that it is
    eligible: its thread is free and its agent has no limit): `running`, attempt 1, leased, with the same events
    a claim writes. Committed, it is the worker's to execute (`Claimed`); if the process dies first, its lease
    lapses and the sweeper puts it back in the queue, as for any claim."""
    notify = dumps(run.notify) if run.notify else None
    # A run created inside a trace that did not say which (a child run, a trigger's) joins the current one.
    carrier = run.trace_context if run.trace_context is not None else current_carrier()
    trace = dumps(carrier) if carrier else None
    params = {
        **vars(run),
        "metadata": dumps(run.metadata),
        "limits": dumps(run.limits),
        "notify": notify,
        "trace_context": trace,
    }
    status = {"status": S.QUEUED, "run_id": str(run.id), "thread_id": str(run.thread_id), "agent": run.agent}
    if claim is not None:
        await connection.execute(_ENQUEUE_CLAIMED, {**params, "owner": claim.owner, "lease": claim.lease_seconds})
        running = {"status": S.RUNNING, "attempt": 1, "worker": claim.owner}
        await journal.append(connection, run.id, [("status", status), ("status", running)])
        RUNS_CREATED.labels(run.agent).inc()
        return Claimed(run_id=run.id, attempt=1, request_id=run.request_id, agent=run.agent, trace_context=carrier)
    await connection.execute(_ENQUEUE, params)
    await journal.append(connection, run.id, [("status", status)])
    # Counted as the statement succeeds, in the creating transaction: one that then rolls back (rare: the request
    # failed after creating its run) is counted all the same.
    RUNS_CREATED.labels(run.agent).inc()
    # Announced last (not in the INSERT's RETURNING): in `make bench`, enqueue->start was ~1.5 ms lower this way.
    await journal.notify(connection, RUNS_READY)
    return None


_CLAIM = text(f"""
WITH candidates AS (
    SELECT r.id FROM runs r
    WHERE r.status = '{S.QUEUED}' AND r.agent = ANY(CAST(:agents AS text[]))
    AND NOT EXISTS (
        SELECT 1 FROM runs o
        WHERE o.thread_id = r.thread_id AND o.id <> r.id
          AND (o.status IN {sql_list(HOLDS_THREAD)} OR (o.status = '{S.QUEUED}' AND o.queue_seq < r.queue_seq))
    )
    ORDER BY r.queue_seq
    LIMIT :n
    FOR UPDATE OF r SKIP LOCKED
), claimed AS (
    UPDATE runs SET
        status = '{S.RUNNING}',
        attempts = runs.attempts + 1,
        lease_owner = :owner,
        worker_id = :owner,
        -- clock_timestamp(), not now(): the claim may have waited for a limit group's lock in this transaction
        lease_expires_at = clock_timestamp() + make_interval(secs => :lease),
        started_at = coalesce(runs.started_at, clock_timestamp()),
        updated_at = now(),
        event_seq = runs.event_seq + 1
    FROM candidates WHERE runs.id = candidates.id
    RETURNING runs.id, runs.event_seq, runs.attempts, runs.queue_seq, runs.request_id, runs.agent, runs.trace_context
), events AS (
    INSERT INTO run_events (run_id, seq, type, data)
    SELECT id, event_seq, 'status',
           jsonb_build_object('status', '{S.RUNNING}', 'attempt', attempts, 'worker', CAST(:owner AS text))
    FROM claimed
)
SELECT id, attempts, request_id, agent, trace_context, pg_notify('{RUN_EVENTS}', CAST(id AS text))
FROM claimed ORDER BY queue_seq
""")


async def claim(
    connection: AsyncConnection,
    *,
    owner: str,
    n: int,
    lease_seconds: float,
    free_agents: Sequence[str],
    groups: Sequence[LimitGroup],
) -> list[Claimed]:
    """Claim up to `n` eligible runs leased to `owner` (commit to make the claim real): oldest first among the
    agents without a limit, then each limit group's oldest in turn. A queued run is eligible when no other run
    of its thread is running or awaiting approval and no earlier run of its thread is still queued (FIFO per
    thread). Runs locked by another claimer are skipped, never waited for. A limit group is claimed under its
    lock, after counting its running runs: it never exceeds `max_runs`."""
    claimed: list[Claimed] = []
    if free_agents:
        claimed += await _claim(connection, owner, n, lease_seconds, free_agents)
    for group in groups:
        room = n - len(claimed)
        if room <= 0:
            break
        await lock_group(connection, group)
        room = min(room, group.max_runs - await running_in_group(connection, group))
        if room > 0:
            claimed += await _claim(connection, owner, room, lease_seconds, group.agents)
    return claimed


async def _claim(connection: AsyncConnection, owner: str, n: int, lease: float, agents: Sequence[str]) -> list[Claimed]:
    params = {"owner": owner, "n": n, "lease": lease, "agents": list(agents)}
    rows = await connection.execute(_CLAIM, params)
    return [
        Claimed(run_id=row[0], attempt=int(row[1]), request_id=row[2], agent=row[3], trace_context=row[4])
        for row in rows
    ]
