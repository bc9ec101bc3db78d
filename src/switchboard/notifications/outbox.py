"""Events into the outbox, in the transaction of the change that causes them: a message (its body fixed now)
and a delivery per destination — each enabled webhook endpoint of the run's user that wants the event's type,
and each of the run's own `notify` targets — in one statement, with a NOTIFY to the dispatchers at commit.

So a run's final state (or its pause) and the news of it commit together: a crash between the commit and the
send loses nothing (the dispatcher finds the delivery due), and nothing is sent about a change that rolled back.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.engine.channels import DELIVERIES_READY
from switchboard.kit.clock import utc_now
from switchboard.models.notifications import Channel, DeliveryStatus
from switchboard.models.runs import RunStatus
from switchboard.runs.schemas import PendingApproval, RunOut
from switchboard.settings import Settings

EVENT_OF_STATUS = {
    RunStatus.SUCCEEDED: "run.succeeded",
    RunStatus.FAILED: "run.failed",
    RunStatus.CANCELLED: "run.cancelled",
    RunStatus.TIMED_OUT: "run.timed_out",
    RunStatus.REQUIRES_ACTION: "run.requires_action",
}
EVENT_TYPES = tuple(EVENT_OF_STATUS.values())
MAX_OUTPUT_BYTES = 64 * 1024  # larger outputs are cut, with a link to the whole run

_RECORD = text(f"""
WITH endpoints AS (
    SELECT id FROM webhook_endpoints
    WHERE user_id = :user_id AND enabled
      AND (event_types IS NULL OR event_types @> jsonb_build_array(CAST(:type AS text)))
), targets AS (
    SELECT value AS target FROM jsonb_array_elements(coalesce(CAST(:targets AS jsonb), '[]'))
), message AS (
    INSERT INTO outbox_messages (id, user_id, run_id, type, body)
    SELECT :id, :user_id, :run_id, :type, :body
    WHERE EXISTS (SELECT 1 FROM endpoints) OR EXISTS (SELECT 1 FROM targets)
    RETURNING id
), deliveries AS (
    INSERT INTO deliveries (id, message_id, user_id, channel, endpoint_id, target, status, next_attempt_at)
    SELECT gen_random_uuid(), message.id, :user_id, '{Channel.WEBHOOK}', endpoints.id, NULL,
           '{DeliveryStatus.PENDING}', now()
    FROM message, endpoints
    UNION ALL
    SELECT gen_random_uuid(), message.id, :user_id, targets.target ->> 'channel', NULL, targets.target,
           '{DeliveryStatus.PENDING}', now()
    FROM message, targets
    RETURNING 1
)
SELECT pg_notify('{DELIVERIES_READY}', '') FROM (SELECT count(*) AS n FROM deliveries) AS made WHERE made.n > 0
""")

_RUNS = text("SELECT * FROM runs WHERE id = ANY(:ids)")


class RunNotices:
    """Writes the outbox messages of runs' status changes (`run.succeeded`…) for one process's settings."""

    def __init__(self, settings: Settings) -> None:
        self.base_url = settings.public_base_url()

    async def record(
        self, connection: AsyncConnection, row: Mapping[str, Any], pending: Sequence[PendingApproval] = ()
    ) -> None:
        """The event of the status `row` (the run as just written) is in, if it is one we tell about."""
        status = RunStatus(row["status"])
        event_type = EVENT_OF_STATUS.get(status)
        if event_type is None:
            return
        if row.get("parent_id") is not None and status != RunStatus.REQUIRES_ACTION:
            return  # a child run's end is told through its parent's; a person is still asked to decide its approvals
        run = RunOut.from_row(row)
        run.pending_approvals = list(pending)
        targets = row.get("notify")
        params = {
            "id": uuid.uuid4(),
            "user_id": row["user_id"],
            "run_id": row["id"],
            "type": event_type,
            "body": self.body(event_type, run),
            "targets": json.dumps(targets) if targets else None,
        }
        await connection.execute(_RECORD, params)

    async def record_runs(self, connection: AsyncConnection, run_ids: Sequence[uuid.UUID]) -> None:
        """The same, for runs changed by a statement that did not return them (a cancel, a sweep)."""
        if run_ids:
            for row in (await connection.execute(_RUNS, {"ids": list(run_ids)})).mappings():
                await self.record(connection, dict(row))

    def body(self, event_type: str, run: RunOut) -> str:
        """`{type, timestamp, data}`: the run as `GET /v1/runs/{id}` shows it (but its child runs' tree), with its
        `url`; an output past
        64 KiB is cut (`output_truncated`), the whole of it at the url. So is the message (`message_truncated`):
        a trigger's run carries its event in it, which may be larger."""
        data = run.model_dump(mode="json", exclude={"children"})  # a pipeline's steps are in its output
        data["url"] = f"{self.base_url}/v1/runs/{run.id}"
        for field in ("output", "message"):
            cut = _cut(data[field])
            if cut is not None:
                data[field] = cut
                data[f"{field}_truncated"] = True
        event = {"type": event_type, "timestamp": utc_now().isoformat(), "data": data}
        return json.dumps(to_jsonable_python(event), separators=(",", ":"), ensure_ascii=False)


def _cut(value: Any) -> str | None:
    """`value` as text cut to 64 KiB of UTF-8 (never inside a character), or None when it is no longer than that.
    Text is measured as it is; anything else (structured output) as its JSON."""
    text_value = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    encoded = text_value.encode()
    if len(encoded) <= MAX_OUTPUT_BYTES:
        return None
    return encoded[:MAX_OUTPUT_BYTES].decode(errors="ignore")
