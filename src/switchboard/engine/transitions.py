"""Every way a run changes status, one named statement each. The runs table is the queue; the way in and the
way out of it, `enqueue` and `claim`, are in `queue`.

    enqueue                                    → queued           (or running, claimed as it is created)
    claim                queued                → running          (attempts + 1, a lease)
    pause                running               → requires_action  (the lease given up)
    (children.wait       running               → waiting          (its child runs unfinished; see `children`))
    settle               running               → succeeded | failed | cancelled | timed_out
    release              running               → queued           (worker shutdown; the attempt not counted)
    requeue_approved     requires_action       → queued           (every approval decided)
    (children.wake_parent waiting              → queued           (its last child finished))
    request_cancel       running               → running          (flagged; its worker stops it)
    cancel_now           queued | requires_action | waiting → cancelled
    sweep                running, lease lapsed → queued | failed | cancelled

A child run that reaches a final status (settle, cancel_now, sweep) wakes its parent in the same transaction.
Each run that reaches one is counted there too (`switchboard_runs_settled_total`, `…_run_duration_seconds`): these
statements are every way into a final status. Counted as the statement succeeds: a transaction that then rolls
back (rare: its commit failed) is counted all the same.

Each function runs in the caller's transaction and says what it guarantees. A worker's writes are fenced by its
lease, which it renews (`lease`): once the sweeper has handed a run to another worker, the stale worker's writes
change nothing and raise `LeaseLost`. NOTIFY is sent in the same transaction, so it is delivered only if it commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Uuid, column, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.engine import children, journal
from switchboard.engine.channels import RUN_CANCEL, RUNS_READY
from switchboard.engine.journal import Event, dumps
from switchboard.engine.lease import LEASED, fenced
from switchboard.models.base import EnumText, sql_list
from switchboard.models.runs import ACTIVE, FINAL, RunStatus
from switchboard.observability.metrics import RUN_SECONDS, RUNS_SETTLED

S = RunStatus  # the statements below read better with short names


def _count_settled(agent: str, status: str, created_at: datetime | None, finished_at: datetime | None) -> None:
    RUNS_SETTLED.labels(agent, status).inc()
    if created_at is not None and finished_at is not None:
        RUN_SECONDS.labels(agent, status).observe(max(0.0, (finished_at - created_at).total_seconds()))


_PAUSE = text(f"""
UPDATE runs SET status = '{S.REQUIRES_ACTION}', usage = CAST(:usage AS jsonb),
    lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
WHERE id = :id AND {LEASED}
RETURNING runs.*, pg_notify('{RUNS_READY}', '')
""")


async def pause(
    connection: AsyncConnection, *, run_id: uuid.UUID, owner: str, usage: dict[str, Any], events: Sequence[Event]
) -> dict[str, Any]:
    """Wait for approvals, holding no worker and no agent slot (the thread stays held). Fenced by the lease.
    Returns the run's row as written."""
    await journal.append(connection, run_id, [*events, ("status", {"status": S.REQUIRES_ACTION})], owner=owner)
    return dict((await fenced(connection, _PAUSE, run_id, owner=owner, usage=dumps(usage)))._mapping)


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
    row = dict((await fenced(connection, _SETTLE, run_id, owner=owner, **values))._mapping)
    await children.wake_parent(connection, row)
    _count_settled(row["agent"], status, row["created_at"], row["finished_at"])
    return row


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
WHERE id = :id AND status IN {sql_list([S.QUEUED, S.REQUIRES_ACTION, S.WAITING])}
RETURNING id, parent_id, step, agent, status, error, created_at, finished_at, pg_notify('{RUNS_READY}', '')
""")


async def cancel_now(connection: AsyncConnection, run_id: uuid.UUID, reason: str, *, wake_parent: bool = True) -> bool:
    """Cancel a run no worker holds (queued, or paused for approvals or children) at once, with its `end`
    event. False if it was in another status (nothing changed). `wake_parent=False`: its parent is being
    cancelled in this transaction too (a tree is cancelled from the leaves: see `children`'s lock order)."""
    row = (await connection.execute(_CANCEL_NOW, {"id": run_id})).first()
    if row is None:
        return False
    data = {"status": S.CANCELLED, "reason": reason}
    await journal.append(connection, run_id, [("status", data), ("end", {**data, "output": None, "error": None})])
    if wake_parent:
        await children.wake_parent(connection, dict(row._mapping))
    _count_settled(row.agent, S.CANCELLED, row.created_at, row.finished_at)
    return True


async def cancel_descendants(connection: AsyncConnection, run_id: uuid.UUID, reason: str) -> None:
    """Cancel the unfinished child runs of a run that is finished or flagged to stop, and theirs, deepest first:
    each at once if no worker holds it, else flagged (whichever its status is when the statement runs). Call it
    in a transaction that does not hold the run itself (`children`'s lock order: child, then parent); none is
    woken, since their parents are ending too."""
    await _cancel_each(connection, [child_id for child_id, _ in await children.descendants(connection, run_id)], reason)


async def _cancel_each(connection: AsyncConnection, run_ids: Sequence[uuid.UUID], reason: str) -> None:
    """Cancel each run whose parent is ending: at once if no worker holds it, else flagged (whichever its status
    is when the statement runs, not when it was read); its parent is not woken."""
    for run_id in run_ids:
        if not await cancel_now(connection, run_id, reason, wake_parent=False):
            await request_cancel(connection, run_id, reason)


_TIME_OUT_WAITING = text(f"""
UPDATE runs SET status = '{S.TIMED_OUT}', finished_at = now(), updated_at = now(),
    error = jsonb_build_object('type', 'timed_out', 'message', format(
        'The run exceeded its wall-clock limit of %s s while it waited for its child runs.',
        limits->>'timeout_seconds'))
WHERE status = '{S.WAITING}' AND limits->>'timeout_seconds' IS NOT NULL
  AND started_at + make_interval(secs => CAST(limits->>'timeout_seconds' AS double precision)) < now()
RETURNING id, parent_id, step, agent, status, error, created_at, finished_at
""")


async def time_out_waiting(connection: AsyncConnection) -> list[uuid.UUID]:
    """Runs waiting for their children past their own `timeout_seconds` (no worker holds them to notice):
    `timed_out`, with their `end`, and their own parents woken. Their children are then orphans
    (`cancel_orphans`). Returns them, for their notifications."""
    rows = (await connection.execute(_TIME_OUT_WAITING)).all()
    for row in rows:
        data = {"status": S.TIMED_OUT, "error": row.error}
        await journal.append(connection, row.id, [("status", data), ("end", {**data, "output": None})])
        await children.wake_parent(connection, dict(row._mapping))
        _count_settled(row.agent, S.TIMED_OUT, row.created_at, row.finished_at)
    return [row.id for row in rows]


_ORPHANS = text(f"""
SELECT c.id FROM runs c JOIN runs p ON p.id = c.parent_id
WHERE c.status IN {sql_list(ACTIVE)} AND p.status IN {sql_list(FINAL)}
  AND NOT (c.status = '{S.RUNNING}' AND c.cancel_requested)
LIMIT 100
""")


async def cancel_orphans(connection: AsyncConnection) -> int:
    """Cancel child runs whose parent has finished: what a cancelled parent's own clean-up (right after it
    ended) did not reach, because its process stopped first or because it was cancelled by a thread's new run
    (`interrupt`). Run by every worker's sweeper; safe to run anywhere at once. Returns how many it changed."""
    orphans = [row[0] for row in await connection.execute(_ORPHANS)]
    await _cancel_each(connection, orphans, "its parent run has finished")
    return len(orphans)


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
RETURNING runs.id, runs.status, runs.attempts, runs.error, runs.parent_id, runs.step, runs.agent, runs.created_at,
    runs.finished_at
""").columns(
    column("id", Uuid), column("status", EnumText(RunStatus, 20)), column("attempts", Integer), column("error", JSONB)
)


async def sweep(connection: AsyncConnection, *, max_attempts: int) -> list[tuple[uuid.UUID, RunStatus]]:
    """Runs whose lease lapsed (their worker died or lost the database): back to the queue with the attempt
    counted, or failed with `max_attempts_exceeded` once `max_attempts` claims have lapsed, or cancelled if a
    cancel was requested meanwhile. Safe to run in every worker at once: each expired run is swept once."""
    rows = (await connection.execute(_SWEEP, {"max_attempts": max_attempts})).all()
    swept: list[tuple[uuid.UUID, RunStatus]] = []
    for row in rows:
        run_id, status, attempts, error = row.id, row.status, row.attempts, row.error
        requeued: list[Event] = [("status", {"status": status, "reason": "lease_expired", "attempts": attempts})]
        ended: list[Event] = [
            ("status", {"status": status, "error": error}),
            ("end", {"status": status, "error": error}),
        ]
        await journal.append(connection, run_id, requeued if status == S.QUEUED else ended)
        if status != S.QUEUED:
            await children.wake_parent(connection, dict(row._mapping))
            _count_settled(row.agent, status, row.created_at, row.finished_at)
        swept.append((run_id, status))
    if rows:
        await journal.notify(connection, RUNS_READY)
    return swept
