"""Every way a run changes status, one named statement each. The runs table is the queue.

    enqueue                                    → queued           (or running, claimed as it is created)
    claim                queued                → running          (attempts + 1, a lease)
    pause                running               → requires_action  (the lease given up)
    settle               running               → succeeded | failed | cancelled | timed_out
    release              running               → queued           (worker shutdown; the attempt not counted)
    requeue_approved     requires_action       → queued           (every approval decided)
    request_cancel       running               → running          (flagged; its worker stops it)
    cancel_now           queued | requires_action → cancelled
    sweep                running, lease lapsed → queued | failed | cancelled

Each function runs in the caller's transaction and says what it guarantees. A worker's writes are fenced by its
lease, which it renews (`lease`): once the sweeper has handed a run to another worker, the stale worker's writes
change nothing and raise `LeaseLost`. NOTIFY is sent in the same transaction, so it is delivered only if it commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, Uuid, column, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.auth.principal import Principal
from switchboard.engine import journal
from switchboard.engine.channels import RUN_CANCEL, RUN_EVENTS, RUNS_READY
from switchboard.engine.journal import Event, dumps
from switchboard.engine.lease import LEASED, fenced
from switchboard.engine.limits import LimitGroup, lock_group, running_in_group
from switchboard.models import Run
from switchboard.models.base import EnumText, sql_list
from switchboard.models.runs import FINAL, HOLDS_THREAD, MultitaskStrategy, RunStatus

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
    model_name: str
    request_id: str | None
    acting_user_id: int | None
    stream_tokens: bool = True


@dataclass(frozen=True)
class Claimed:
    run_id: uuid.UUID
    attempt: int
    # The request that created the run: bound to the worker's log lines while it executes the run.
    request_id: str | None = field(default=None, compare=False)
    # Claimed as it was created, in this process (`ClaimNow`): the run as claimed and who it acts for, so the
    # worker need not read them back.
    known: tuple[Run, Principal] | None = field(default=None, compare=False)


_ENQUEUE = text(f"""
INSERT INTO runs (id, user_id, thread_id, turn, agent, status, input, multitask_strategy, metadata, limits,
                  model_name, request_id, acting_user_id, stream_tokens)
VALUES (:id, :user_id, :thread_id, :turn, :agent, '{S.QUEUED}', :input, :multitask_strategy,
        CAST(:metadata AS jsonb), CAST(:limits AS jsonb), :model_name, :request_id, :acting_user_id, :stream_tokens)
""")
# The same run, claimed in the same statement by a worker of the creating process (`claim_now`): what `_CLAIM`
# would write, without the queue's round trip.
_ENQUEUE_CLAIMED = text(f"""
INSERT INTO runs (id, user_id, thread_id, turn, agent, status, input, multitask_strategy, metadata, limits,
                  model_name, request_id, acting_user_id, stream_tokens, attempts, lease_owner, worker_id,
                  lease_expires_at, started_at)
VALUES (:id, :user_id, :thread_id, :turn, :agent, '{S.RUNNING}', :input, :multitask_strategy,
        CAST(:metadata AS jsonb), CAST(:limits AS jsonb), :model_name, :request_id, :acting_user_id, :stream_tokens,
        1, :owner, :owner, clock_timestamp() + make_interval(secs => :lease), clock_timestamp())
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
    params = {**vars(run), "metadata": dumps(run.metadata), "limits": dumps(run.limits)}
    status = {"status": S.QUEUED, "run_id": str(run.id), "thread_id": str(run.thread_id), "agent": run.agent}
    if claim is not None:
        await connection.execute(_ENQUEUE_CLAIMED, {**params, "owner": claim.owner, "lease": claim.lease_seconds})
        running = {"status": S.RUNNING, "attempt": 1, "worker": claim.owner}
        await journal.append(connection, run.id, [("status", status), ("status", running)])
        return Claimed(run_id=run.id, attempt=1, request_id=run.request_id)
    await connection.execute(_ENQUEUE, params)
    await journal.append(connection, run.id, [("status", status)])
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
    RETURNING runs.id, runs.event_seq, runs.attempts, runs.queue_seq, runs.request_id
), events AS (
    INSERT INTO run_events (run_id, seq, type, data)
    SELECT id, event_seq, 'status',
           jsonb_build_object('status', '{S.RUNNING}', 'attempt', attempts, 'worker', CAST(:owner AS text))
    FROM claimed
)
SELECT id, attempts, request_id, pg_notify('{RUN_EVENTS}', CAST(id AS text)) FROM claimed ORDER BY queue_seq
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
    return [Claimed(run_id=row[0], attempt=int(row[1]), request_id=row[2]) for row in rows]


_PAUSE = text(f"""
UPDATE runs SET status = '{S.REQUIRES_ACTION}', usage = CAST(:usage AS jsonb),
    lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
WHERE id = :id AND {LEASED}
RETURNING id, pg_notify('{RUNS_READY}', '')
""")


async def pause(
    connection: AsyncConnection, *, run_id: uuid.UUID, owner: str, usage: dict[str, Any], events: Sequence[Event]
) -> None:
    """Wait for approvals, holding no worker and no agent slot (the thread stays held). Fenced by the lease."""
    await journal.append(connection, run_id, [*events, ("status", {"status": S.REQUIRES_ACTION})], owner=owner)
    await fenced(connection, _PAUSE, run_id, owner=owner, usage=dumps(usage))


_SETTLE = text(f"""
UPDATE runs SET status = :status, output = CAST(:output AS jsonb), error = CAST(:error AS jsonb),
    usage = CAST(:usage AS jsonb), finished_at = now(), lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
WHERE id = :id AND {LEASED}
RETURNING runs.*, pg_notify('{RUNS_READY}', '')
""")


async def settle(
    connection: AsyncConnection,
    *,
    run_id: uuid.UUID,
    owner: str,
    status: RunStatus,
    output: Any = None,
    error: dict[str, Any] | None = None,
    usage: dict[str, Any],
    events: Sequence[Event] = (),
) -> dict[str, Any]:
    """Finish the run with its last events (`status`, then `end`), fenced by the lease; the thread and the
    agent slot it held are announced free. The final status and `end` commit together, so a reader that sees
    the status also finds `end`. Returns the run's row as written (its columns by name)."""
    if status not in FINAL:  # a run left running without a lease would never be swept
        raise ValueError(f"{status} is not a final status")
    data: dict[str, Any] = {"status": status}
    if error is not None:
        data["error"] = error
    end = {"status": status, "output": output, "error": error, "usage": usage}
    await journal.append(connection, run_id, [*events, ("status", data), ("end", end)], owner=owner)
    values = {"status": status, "output": dumps(output), "error": dumps(error), "usage": dumps(usage)}
    return dict((await fenced(connection, _SETTLE, run_id, owner=owner, **values))._mapping)


# Giving a run back to the queue without counting the claim as an attempt: from `running` under a lease (a
# worker shutting down) or from `requires_action`, which holds no lease (every approval decided).
_REQUEUE = f"""
UPDATE runs SET status = '{S.QUEUED}', attempts = attempts - 1, lease_owner = NULL, lease_expires_at = NULL,
    updated_at = now()
WHERE id = :id AND {{condition}}
RETURNING id, pg_notify('{RUNS_READY}', '')
"""
_RELEASE = text(_REQUEUE.format(condition=LEASED))
_REQUEUE_APPROVED = text(_REQUEUE.format(condition=f"status = '{S.REQUIRES_ACTION}'"))


async def release(
    connection: AsyncConnection, *, run_id: uuid.UUID, owner: str, reason: str, events: Sequence[Event] = ()
) -> None:
    """Give a running run back to the queue (a worker shutting down): not the run's fault, so the attempt is
    not counted. Fenced by the lease."""
    queued = ("status", {"status": S.QUEUED, "reason": reason})
    await journal.append(connection, run_id, [*events, queued], owner=owner)
    await fenced(connection, _RELEASE, run_id, owner=owner)


async def requeue_approved(connection: AsyncConnection, run_id: uuid.UUID, events: Sequence[Event]) -> bool:
    """Back to the queue once every pending approval is decided; it resumes from its last written step. The
    paused claim is not counted as an attempt. False if the run was not paused (nothing changed)."""
    if (await connection.execute(_REQUEUE_APPROVED, {"id": run_id})).first() is None:
        return False
    queued = ("status", {"status": S.QUEUED, "reason": "approvals_decided"})
    await journal.append(connection, run_id, [*events, queued])
    return True


_REQUEST_CANCEL = text(f"""
UPDATE runs SET cancel_requested = true, updated_at = now() WHERE id = :id AND status = '{S.RUNNING}'
RETURNING pg_notify('{RUN_CANCEL}', CAST(id AS text))
""")


async def request_cancel(connection: AsyncConnection, run_id: uuid.UUID, reason: str) -> bool:
    """Flag a running run: its worker, in whichever process, stops it between steps or mid-stream, and settles
    it `cancelled`. False if it was not running (nothing changed)."""
    if (await connection.execute(_REQUEST_CANCEL, {"id": run_id})).first() is None:
        return False
    await journal.append(connection, run_id, [("cancel_requested", {"reason": reason})])
    return True


_CANCEL_NOW = text(f"""
UPDATE runs SET status = '{S.CANCELLED}', cancel_requested = true, finished_at = now(), updated_at = now()
WHERE id = :id AND status IN {sql_list([S.QUEUED, S.REQUIRES_ACTION])}
RETURNING pg_notify('{RUNS_READY}', '')
""")


async def cancel_now(connection: AsyncConnection, run_id: uuid.UUID, reason: str) -> bool:
    """Cancel a run no worker holds (queued or paused) at once, with its `end` event. False if it was in
    another status (nothing changed)."""
    if (await connection.execute(_CANCEL_NOW, {"id": run_id})).first() is None:
        return False
    data = {"status": S.CANCELLED, "reason": reason}
    await journal.append(connection, run_id, [("status", data), ("end", {**data, "output": None, "error": None})])
    return True


_SWEEP = text(f"""
WITH expired AS (
    SELECT id FROM runs WHERE status = '{S.RUNNING}' AND lease_expires_at < now()
    FOR UPDATE SKIP LOCKED
)
UPDATE runs SET
    status = CASE WHEN runs.cancel_requested THEN '{S.CANCELLED}'
                  WHEN runs.attempts >= :max_attempts THEN '{S.FAILED}' ELSE '{S.QUEUED}' END,
    finished_at = CASE WHEN runs.cancel_requested OR runs.attempts >= :max_attempts THEN now() END,
    error = CASE WHEN NOT runs.cancel_requested AND runs.attempts >= :max_attempts THEN jsonb_build_object(
        'type', 'max_attempts_exceeded',
        'message', format('The run''s worker stopped responding (its lease lapsed) on attempt %s of %s; giving up '
                          '(SWITCHBOARD_RUN_MAX_ATTEMPTS=%s).', runs.attempts, CAST(:max_attempts AS integer),
                          CAST(:max_attempts AS integer))
    ) END,
    lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
FROM expired WHERE runs.id = expired.id
RETURNING runs.id, runs.status, runs.attempts, runs.error
""").columns(
    column("id", Uuid), column("status", EnumText(RunStatus, 20)), column("attempts", Integer), column("error", JSONB)
)


async def sweep(connection: AsyncConnection, *, max_attempts: int) -> list[tuple[uuid.UUID, RunStatus]]:
    """Runs whose lease lapsed (their worker died or lost the database): back to the queue with the attempt
    counted, or failed with `max_attempts_exceeded` once `max_attempts` claims have lapsed, or cancelled if a
    cancel was requested meanwhile. Safe to run in every worker at once: each expired run is swept once."""
    rows = (await connection.execute(_SWEEP, {"max_attempts": max_attempts})).all()
    swept: list[tuple[uuid.UUID, RunStatus]] = []
    for run_id, status, attempts, error in rows:
        requeued: list[Event] = [("status", {"status": status, "reason": "lease_expired", "attempts": attempts})]
        ended: list[Event] = [
            ("status", {"status": status, "error": error}),
            ("end", {"status": status, "error": error}),
        ]
        await journal.append(connection, run_id, requeued if status == S.QUEUED else ended)
        swept.append((run_id, status))
    if rows:
        await journal.notify(connection, RUNS_READY)
    return swept
