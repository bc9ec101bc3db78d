"""Appending a run's events: numbered 1, 2, 3… per run, stored, and announced with NOTIFY in one statement.

A worker appends with its lease as a fence: when the run is no longer leased to it (the sweeper handed it to
another worker) nothing is written and `LeaseLost` is raised, so a stale worker can never write into a run.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.engine.channels import RUN_EVENTS, RUN_SETTLED
from switchboard.engine.lease import LEASED, LeaseLost


@dataclass(frozen=True)
class Appended:
    last_seq: int
    cancel_requested: bool


Event = tuple[str, dict[str, Any]]

SETTLING = frozenset({"end", "approval_required"})  # the events after which a waiting request answers

_APPEND = """
WITH bumped AS (
    UPDATE runs SET event_seq = event_seq + :n
    WHERE id = :run_id {fence}
    RETURNING event_seq, cancel_requested
), inserted AS (
    INSERT INTO run_events (run_id, seq, type, data)
    SELECT :run_id, bumped.event_seq - :n + e.ord, e.type, e.data::jsonb
    FROM bumped, unnest(CAST(:types AS text[]), CAST(:datas AS text[])) WITH ORDINALITY AS e(type, data, ord)
)
SELECT event_seq, cancel_requested, pg_notify('{channel}', CAST(:run_id AS text)) FROM bumped
"""
_UNFENCED = text(_APPEND.format(fence="", channel=RUN_EVENTS))
_FENCED = text(_APPEND.format(fence=f"AND {LEASED}", channel=RUN_EVENTS))


def dumps(data: Any) -> str:
    return json.dumps(to_jsonable_python(data, fallback=str), separators=(",", ":"))


async def append(
    connection: AsyncConnection, run_id: uuid.UUID, events: Sequence[Event], *, owner: str | None = None
) -> Appended:
    """Append events in the caller's transaction. With `owner`, only while the run is running under that lease."""
    params = {
        "run_id": run_id,
        "n": len(events),
        "types": [kind for kind, _ in events],
        "datas": [dumps(data) for _, data in events],
    }
    if owner is not None:
        params["owner"] = owner
    row = (await connection.execute(_FENCED if owner is not None else _UNFENCED, params)).first()
    if row is None:
        if owner is not None:
            raise LeaseLost(str(run_id))
        raise LookupError(f"run {run_id} does not exist")
    if any(kind in SETTLING for kind, _ in events):
        await notify(connection, RUN_SETTLED, str(run_id))
    return Appended(last_seq=int(row[0]), cancel_requested=bool(row[1]))


async def notify(connection: AsyncConnection, channel: str, payload: str = "") -> None:
    await connection.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload})
