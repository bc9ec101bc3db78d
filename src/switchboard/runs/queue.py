"""The queue is the runs table. Claiming, lease renewal, the sweeper and release, in SQL.

Ordering rules are enforced at claim time:
- one active run per thread: a queued run is claimable only when no other run of its thread is running or
  awaiting approval, and no earlier run of its thread is still queued (FIFO per thread);
- per-agent concurrency limits: runs of limited agents are claimed under a transaction-scoped advisory lock
  per limit group, after counting the group's running runs, so two workers can never both take the last slot.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.runs import journal
from switchboard.runs.channels import RUNS_READY

_CLAIM = text(
    """
WITH candidates AS (
    SELECT r.id FROM runs r
    WHERE r.status = 'queued' AND r.agent = ANY(CAST(:agents AS text[]))
    AND NOT EXISTS (
        SELECT 1 FROM runs o
        WHERE o.thread_id = r.thread_id AND o.id <> r.id
          AND (o.status IN ('running', 'requires_action') OR (o.status = 'queued' AND o.queue_seq < r.queue_seq))
    )
    ORDER BY r.queue_seq
    LIMIT :n
    FOR UPDATE OF r SKIP LOCKED
), claimed AS (
    UPDATE runs SET
        status = 'running',
        attempts = runs.attempts + 1,
        lease_owner = :owner,
        -- clock_timestamp(), not now(): the claim may have waited for a limit group's lock in this transaction
        lease_expires_at = clock_timestamp() + make_interval(secs => :lease),
        started_at = coalesce(runs.started_at, clock_timestamp()),
        updated_at = now(),
        event_seq = runs.event_seq + 1
    FROM candidates WHERE runs.id = candidates.id
    RETURNING runs.id, runs.event_seq, runs.attempts, runs.queue_seq
), events AS (
    INSERT INTO run_events (run_id, seq, type, data)
    SELECT id, event_seq, 'status', jsonb_build_object('status', 'running', 'attempt', attempts) FROM claimed
)
SELECT id, attempts, pg_notify('sb_run_events', CAST(id AS text)) FROM claimed ORDER BY queue_seq
"""
)

_GROUP_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(:key))")
_GROUP_RUNNING = text("SELECT count(*) FROM runs WHERE agent = ANY(CAST(:agents AS text[])) AND status = 'running'")

_RENEW = text(
    """
UPDATE runs SET lease_expires_at = now() + make_interval(secs => :lease)
WHERE id = ANY(CAST(:ids AS uuid[])) AND lease_owner = :owner AND status = 'running'
RETURNING id, cancel_requested
"""
)

_SWEEP = text(
    """
WITH expired AS (
    SELECT id FROM runs WHERE status = 'running' AND lease_expires_at < now()
    FOR UPDATE SKIP LOCKED
)
UPDATE runs SET
    status = CASE WHEN runs.cancel_requested THEN 'cancelled'
                  WHEN runs.attempts >= :max_attempts THEN 'failed' ELSE 'queued' END,
    finished_at = CASE WHEN runs.cancel_requested OR runs.attempts >= :max_attempts THEN now() END,
    lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
FROM expired WHERE runs.id = expired.id
RETURNING runs.id, runs.status, runs.attempts
"""
)

_RELEASE = text(
    """
UPDATE runs SET status = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_expires_at = NULL,
    updated_at = now()
WHERE id = :id AND lease_owner = :owner AND status = 'running'
RETURNING id
"""
)

# Announces on RUNS_READY (a thread or an agent slot was freed) only when the fence held.
_SETTLE = text(
    """
UPDATE runs SET status = :status, output = CAST(:output AS jsonb), error = CAST(:error AS jsonb),
    usage = CAST(:usage AS jsonb), finished_at = CASE WHEN :final THEN now() END,
    lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
WHERE id = :id AND lease_owner = :owner AND status = 'running'
RETURNING id, pg_notify(:ready, '')
"""
)


@dataclass(frozen=True)
class LimitGroup:
    key: str
    max_runs: int
    agents: tuple[str, ...]


@dataclass(frozen=True)
class Claimed:
    run_id: uuid.UUID
    attempt: int


async def claim(
    connection: AsyncConnection,
    *,
    owner: str,
    n: int,
    lease_seconds: float,
    free_agents: Sequence[str],
    groups: Sequence[LimitGroup],
) -> list[Claimed]:
    """Claim up to `n` eligible runs in the caller's transaction (commit to make the claim real)."""
    claimed: list[Claimed] = []
    if free_agents:
        claimed += await _claim(connection, owner, n, lease_seconds, free_agents)
    for group in groups:
        room = n - len(claimed)
        if room <= 0:
            break
        # The lock is held to commit: the next claimer of this group counts after our claim is visible.
        await connection.execute(_GROUP_LOCK, {"key": f"switchboard.limit:{group.key}"})
        running = int((await connection.execute(_GROUP_RUNNING, {"agents": list(group.agents)})).scalar_one())
        room = min(room, group.max_runs - running)
        if room > 0:
            claimed += await _claim(connection, owner, room, lease_seconds, group.agents)
    return claimed


async def _claim(
    connection: AsyncConnection, owner: str, n: int, lease_seconds: float, agents: Sequence[str]
) -> list[Claimed]:
    params: dict[str, Any] = {"owner": owner, "n": n, "lease": lease_seconds, "agents": list(agents)}
    rows = (await connection.execute(_CLAIM, params)).all()
    return [Claimed(run_id=row[0], attempt=int(row[1])) for row in rows]


async def renew(
    connection: AsyncConnection, *, owner: str, run_ids: Sequence[uuid.UUID], lease_seconds: float
) -> dict[uuid.UUID, bool]:
    """Extend the leases this worker still holds; returns {run_id: cancel_requested} for those."""
    rows = (await connection.execute(_RENEW, {"ids": list(run_ids), "owner": owner, "lease": lease_seconds})).all()
    return {row[0]: bool(row[1]) for row in rows}


async def sweep(connection: AsyncConnection, *, max_attempts: int) -> list[tuple[uuid.UUID, str]]:
    """Return runs whose lease lapsed to the queue (or fail them past `max_attempts`); record why."""
    rows = (await connection.execute(_SWEEP, {"max_attempts": max_attempts})).all()
    for run_id, status, attempts in rows:
        if status == "queued":
            events: list[journal.Event] = [
                ("status", {"status": "queued", "reason": "lease_expired", "attempts": attempts})
            ]
        else:
            error = None
            if status == "failed":
                error = {
                    "type": "max_attempts_exceeded",
                    "message": f"The run's worker stopped responding (its lease lapsed) on attempt {attempts} of "
                    f"{max_attempts}; giving up (SWITCHBOARD_RUN_MAX_ATTEMPTS={max_attempts}).",
                }
                await connection.execute(
                    text("UPDATE runs SET error = CAST(:error AS jsonb) WHERE id = :id"),
                    {"id": run_id, "error": journal.dumps(error)},
                )
            events = [("status", {"status": status, "error": error}), ("end", {"status": status, "error": error})]
        await journal.append(connection, run_id, events)
    if rows:
        await journal.notify(connection, RUNS_READY)
    return [(row[0], row[1]) for row in rows]


async def release(connection: AsyncConnection, *, run_id: uuid.UUID, owner: str, reason: str) -> bool:
    """Give a run back to the queue without counting the attempt (a worker shutting down)."""
    await journal.append(connection, run_id, [("status", {"status": "queued", "reason": reason})], owner=owner)
    released = (await connection.execute(_RELEASE, {"id": run_id, "owner": owner})).first() is not None
    await journal.notify(connection, RUNS_READY)
    return released


async def settle(
    connection: AsyncConnection,
    *,
    run_id: uuid.UUID,
    owner: str,
    status: str,
    output: Any = None,
    error: dict[str, Any] | None = None,
    usage: dict[str, Any],
    events: Sequence[journal.Event] = (),
) -> None:
    """Leave `running` (finished, or paused for approval) with the final events, fenced by the lease."""
    final = status != "requires_action"
    data: dict[str, Any] = {"status": status}
    if error is not None:
        data["error"] = error
    closing: list[journal.Event] = [*events, ("status", data)]
    if final:
        closing.append(("end", {"status": status, "output": output, "error": error, "usage": usage}))
    await journal.append(connection, run_id, closing, owner=owner)
    params = {
        "id": run_id,
        "owner": owner,
        "status": status,
        "output": journal.dumps(output),
        "error": journal.dumps(error),
        "usage": journal.dumps(usage),
        "final": final,
        "ready": RUNS_READY,
    }
    if (await connection.execute(_SETTLE, params)).first() is None:
        raise journal.LeaseLost(str(run_id))
