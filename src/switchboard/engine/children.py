"""Child runs: runs that do a step of another run (a pipeline's steps, an agent called as a tool). Each is an
ordinary run on a thread of its own; its parent waits for it holding no worker.

    spawn          a child run, queued, on a new thread of the parent's user    (once per parent and step)
    wait           parent: running → waiting     while one of its children is unfinished
    wake_parent    parent: waiting → queued      once every child has finished (called as a child finishes)
    descendants    a run's unfinished children, grandchildren… (to cancel a whole tree)

Lock order: a child's row, then its parent's, never the other way round. A finishing child locks its parent
before looking at its siblings, and a parent going to `waiting` locks itself before looking at its children:
whichever comes second sees what the first committed, so a parent is never left waiting for children that
have all finished (the lost wake-up two unlocked checks would allow).

The parent is locked `FOR NO KEY UPDATE`, not `FOR UPDATE`: a child's transaction that wrote its own row twice
holds a `KEY SHARE` lock on its parent (PostgreSQL re-checks the `parent_id` foreign key then), and two siblings
upgrading those to `FOR UPDATE` at once deadlock; `NO KEY UPDATE` does not conflict with `KEY SHARE`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.engine import journal, queue
from switchboard.engine.channels import RUNS_READY
from switchboard.engine.journal import Event, dumps
from switchboard.engine.lease import LEASED, fenced
from switchboard.models import Run
from switchboard.models.base import sql_list
from switchboard.models.runs import ACTIVE, FINAL, MultitaskStrategy, RunStatus

S = RunStatus


@dataclass(frozen=True)
class Child:
    """A child run as its parent sees it."""

    id: uuid.UUID
    step: str
    agent: str
    status: RunStatus
    output: Any
    error: dict[str, Any] | None
    usage: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in FINAL


_CHILDREN = text("""
SELECT id, step, agent, status, output, error, usage, created_at, started_at, finished_at
FROM runs WHERE parent_id = :id ORDER BY queue_seq
""")


async def of(connection: AsyncConnection, parent_id: uuid.UUID) -> list[Child]:
    """The run's child runs, oldest first."""
    rows = await connection.execute(_CHILDREN, {"id": parent_id})
    return [
        Child(
            id=row.id,
            step=row.step,
            agent=row.agent,
            status=RunStatus(row.status),
            output=row.output,
            error=row.error,
            usage=row.usage or {},
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
        )
        for row in rows
    ]


_THREAD = text("""
INSERT INTO threads (id, user_id, agent, title, metadata, turns, parent_run_id)
VALUES (:id, :user_id, :agent, :title, '{}', 1, :parent_run_id)
""")


async def spawn(
    connection: AsyncConnection, parent: Run, *, step: str, agent: str, input: str, model_name: str | None
) -> uuid.UUID:
    """Queue a child run of `parent` for `step`, on a new thread of the parent's user, acting as the parent does,
    with the parent's limits (each child its own `max_model_requests`, `timeout_seconds`…). The caller holds the
    parent's lease and lock (see `lock`) and has checked the step has no run yet (unique per parent and step)."""
    thread_id = uuid.uuid4()
    title = f"{step} (step of run {parent.id})"[:200]
    values = {"id": thread_id, "user_id": parent.user_id, "agent": agent, "title": title, "parent_run_id": parent.id}
    await connection.execute(_THREAD, values)
    child = queue.NewRun(
        id=uuid.uuid4(),
        user_id=parent.user_id,
        thread_id=thread_id,
        turn=1,
        agent=agent,
        input=input,
        multitask_strategy=MultitaskStrategy.ENQUEUE,
        metadata={},
        limits=dict(parent.limits or {}),  # limited as its parent is, each on its own
        model_name=model_name,
        request_id=parent.request_id,
        acting_user_id=parent.acting_user_id,
        api_key_id=parent.api_key_id,  # its spend counts against its root's API key's budget (`usage.budgets`)
        parent_id=parent.id,
        step=step,
    )
    await queue.enqueue(connection, child)
    return child.id


_LOCK = text(f"SELECT cancel_requested FROM runs WHERE id = :id AND {LEASED} FOR NO KEY UPDATE")


async def lock(connection: AsyncConnection, run_id: uuid.UUID, owner: str) -> bool:
    """Lock a running parent's row, under `owner`'s lease (`LeaseLost` otherwise), before reading its children;
    returns whether a cancel was requested."""
    return bool((await fenced(connection, _LOCK, run_id, owner=owner))[0])


_UNFINISHED = f"EXISTS (SELECT 1 FROM runs c WHERE c.parent_id = runs.id AND c.status NOT IN {sql_list(FINAL)})"
_WAIT = text(f"""
UPDATE runs SET status = '{S.WAITING}', usage = CAST(:usage AS jsonb), lease_owner = NULL, lease_expires_at = NULL,
    updated_at = now()
WHERE id = :id AND {LEASED} AND {_UNFINISHED}
RETURNING id
""")


async def wait(
    connection: AsyncConnection, run_id: uuid.UUID, owner: str, usage: dict[str, Any], events: list[Event]
) -> bool:
    """Give up the worker until the run's children have finished (after `lock`): `waiting`, with `events`.
    False, and nothing changed but the events written, when no child is unfinished: carry on instead."""
    await journal.append(connection, run_id, events, owner=owner)
    row = (await connection.execute(_WAIT, {"id": run_id, "owner": owner, "usage": dumps(usage)})).first()
    if row is None:
        return False
    await journal.append(connection, run_id, [("status", {"status": S.WAITING})])
    return True


_LOCK_STATUS = text("SELECT status FROM runs WHERE id = :id FOR NO KEY UPDATE")


async def lock_status(connection: AsyncConnection, run_id: uuid.UUID) -> RunStatus | None:
    """The run's status, locked until commit (so the change made next applies to it): `NO KEY UPDATE`, the lock
    a status change takes anyway (see the module's description on why not `FOR UPDATE`)."""
    status = (await connection.execute(_LOCK_STATUS, {"id": run_id})).scalar()
    return None if status is None else RunStatus(status)


# Back to the queue like a run whose approvals are decided: the waiting claim is not counted as an attempt.
_WAKE = text(f"""
UPDATE runs SET status = '{S.QUEUED}', attempts = attempts - 1, updated_at = now()
WHERE id = :id AND status = '{S.WAITING}' AND NOT {_UNFINISHED}
RETURNING id, pg_notify('{RUNS_READY}', '')
""")


async def wake_parent(connection: AsyncConnection, child: dict[str, Any]) -> None:
    """A child run has just reached a final status (`child` is its row): tell its parent, in the parent's event
    stream, and put the parent back in the queue if it was waiting and this was its last unfinished child."""
    parent_id = child.get("parent_id")
    if parent_id is None:
        return
    status = await lock_status(connection, parent_id)
    if status is None or status in FINAL:
        return  # a finished parent (cancelled with its tree, say) hears no more
    event = {"step": child["step"], "run_id": child["id"], "agent": child["agent"], "status": child["status"]}
    if child.get("error"):
        event["error"] = child["error"]
    events: list[Event] = [("child", event)]
    if (await connection.execute(_WAKE, {"id": parent_id})).first() is not None:
        events.append(("status", {"status": S.QUEUED, "reason": "children_finished"}))
    await journal.append(connection, parent_id, events)


_DESCENDANTS = text(f"""
WITH RECURSIVE tree(id, depth) AS (
    SELECT id, 1 FROM runs WHERE parent_id = :id
    UNION ALL
    SELECT r.id, t.depth + 1 FROM runs r JOIN tree t ON r.parent_id = t.id
)
SELECT runs.id, runs.status FROM tree JOIN runs ON runs.id = tree.id
WHERE runs.status IN {sql_list(ACTIVE)}
ORDER BY tree.depth DESC
""")


async def descendants(connection: AsyncConnection, run_id: uuid.UUID) -> list[tuple[uuid.UUID, RunStatus]]:
    """The run's unfinished descendants, deepest first (children are cancelled before their parents)."""
    return [(row[0], RunStatus(row[1])) for row in await connection.execute(_DESCENDANTS, {"id": run_id})]
