"""The deliveries table as a queue: `claim` the due ones (with a lease), `record` each attempt's result and
schedule the next. Statements run in the caller's transaction.

A claim moves `next_attempt_at` to the end of the claim's lease: a dispatcher that dies mid-send leaves the
delivery due again when the lease lapses, and another sends it (at least once, same `webhook-id`). A result is
recorded only by the dispatcher that still holds the claim (fenced by `lease_owner` and the attempt count)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.models.base import sql_list
from switchboard.models.notifications import DUE, Channel, DeliveryStatus

D = DeliveryStatus


@dataclass(frozen=True)
class Due:
    """A claimed delivery, with what sending it needs."""

    id: uuid.UUID
    attempts: int  # made so far
    channel: Channel
    message_id: uuid.UUID
    event_type: str
    body: str
    target: dict[str, Any] | None  # a run's own destination
    endpoint_id: uuid.UUID | None
    url: str | None  # the endpoint's
    secrets: tuple[str, ...]  # the endpoint's, sealed: current first, then a previous one still valid
    endpoint_enabled: bool


_CLAIM = text(f"""
WITH due AS (
    SELECT id FROM deliveries
    WHERE status IN {sql_list(DUE)} AND next_attempt_at <= now()
    ORDER BY next_attempt_at
    LIMIT :n
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE deliveries SET lease_owner = :owner, next_attempt_at = now() + make_interval(secs => :lease)
    FROM due WHERE deliveries.id = due.id
    RETURNING deliveries.id, deliveries.attempts, deliveries.channel, deliveries.message_id, deliveries.target,
              deliveries.endpoint_id
)
SELECT claimed.*, m.type, m.body, e.url, e.secret, e.enabled,
       CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret END AS previous_secret
FROM claimed
JOIN outbox_messages m ON m.id = claimed.message_id
LEFT JOIN webhook_endpoints e ON e.id = claimed.endpoint_id
""")


async def claim(connection: AsyncConnection, *, owner: str, n: int, lease_seconds: float) -> list[Due]:
    rows = await connection.execute(_CLAIM, {"owner": owner, "n": n, "lease": lease_seconds})
    return [
        Due(
            id=row["id"],
            attempts=row["attempts"],
            channel=Channel(row["channel"]),
            message_id=row["message_id"],
            event_type=row["type"],
            body=row["body"],
            target=row["target"],
            endpoint_id=row["endpoint_id"],
            url=row["url"],
            secrets=tuple(secret for secret in (row["secret"], row["previous_secret"]) if secret),
            endpoint_enabled=row["enabled"] is not False,  # None: not an endpoint's delivery
        )
        for row in rows.mappings()
    ]


@dataclass(frozen=True)
class Result:
    """What one attempt came to, and what follows: `status` is the delivery's next status."""

    delivery: Due
    status: DeliveryStatus
    next_attempt_at: datetime | None
    started_at: datetime
    duration_ms: float
    status_code: int | None
    excerpt: str | None
    error: str | None


_RECORD = text("""
WITH attempt AS (
    INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, status_code, response_excerpt, error)
    SELECT id, attempts + 1, :started_at, :duration_ms, :status_code, :excerpt, :error FROM deliveries
    WHERE id = :id AND lease_owner = :owner AND attempts = :attempts
)
UPDATE deliveries SET status = :status, attempts = attempts + 1, next_attempt_at = :next_attempt_at,
    lease_owner = NULL, last_status_code = :status_code, last_error = :error,
    delivered_at = CASE WHEN :succeeded THEN now() END, updated_at = now()
WHERE id = :id AND lease_owner = :owner AND attempts = :attempts
""")


async def record(connection: AsyncConnection, owner: str, results: list[Result]) -> None:
    """Each attempt and the delivery's next step, for the deliveries `owner` still holds (others: nothing)."""
    if not results:
        return
    await connection.execute(
        _RECORD,
        [
            {
                "id": result.delivery.id,
                "owner": owner,
                "attempts": result.delivery.attempts,
                "status": result.status.value,
                "succeeded": result.status == D.SUCCEEDED,
                "next_attempt_at": result.next_attempt_at,
                "started_at": result.started_at,
                "duration_ms": result.duration_ms,
                "status_code": result.status_code,
                "excerpt": result.excerpt,
                "error": result.error,
            }
            for result in results
        ],
    )


_NEXT_DUE = text(f"SELECT min(next_attempt_at) FROM deliveries WHERE status IN {sql_list(DUE)}")


async def next_due(connection: AsyncConnection) -> datetime | None:
    """When the earliest delivery is due (or its claim lapses)."""
    value: datetime | None = (await connection.execute(_NEXT_DUE)).scalar()
    return value


# --- endpoints' health ---

_SUCCEEDED = text("""
UPDATE webhook_endpoints SET failing_since = NULL, last_success_at = now()
WHERE id = ANY(:ids) AND (failing_since IS NOT NULL OR last_success_at IS NULL
                          OR last_success_at < now() - interval '1 minute')
""")
_FAILED = text("""
UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, now())
WHERE id = ANY(:ids) AND failing_since IS NULL
""")
_DISABLE = text(f"""
WITH disabled AS (
    UPDATE webhook_endpoints SET enabled = false, disabled_at = now(), updated_at = now(),
        disabled_reason = CASE WHEN :gone THEN :reason
            ELSE format(:reason, to_char(failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')) END
    WHERE id = :id AND enabled AND (:gone OR failing_since < now() - make_interval(secs => :after))
    RETURNING id
), dead AS (
    UPDATE deliveries SET status = '{D.DEAD}', next_attempt_at = NULL, lease_owner = NULL,
        last_error = 'the endpoint was disabled', updated_at = now()
    FROM disabled WHERE deliveries.endpoint_id = disabled.id AND deliveries.status IN {sql_list(DUE)}
        AND deliveries.lease_owner IS NULL
)
SELECT id FROM disabled
""")
FAILING_TOO_LONG = 'every delivery has failed since %s; re-enable it with PATCH {"enabled": true} once it answers'
GONE = 'the receiver answered 410 Gone (it asked for no more deliveries); re-enable it with PATCH {"enabled": true}'


async def endpoint_health(
    connection: AsyncConnection, results: list[Result], *, disable_after_seconds: float
) -> list[uuid.UUID]:
    """Endpoints' success clocks after these results; disable an endpoint that answered 410 or has failed every
    delivery for `disable_after_seconds`. Returns the endpoints disabled."""
    ok = {r.delivery.endpoint_id for r in results if r.delivery.endpoint_id and r.status == D.SUCCEEDED}
    failed = {r.delivery.endpoint_id for r in results if r.delivery.endpoint_id and r.status != D.SUCCEEDED} - ok
    if ok:
        await connection.execute(_SUCCEEDED, {"ids": list(ok)})
    if failed:
        await connection.execute(_FAILED, {"ids": list(failed)})
    disabled: list[uuid.UUID] = []
    gone = {r.delivery.endpoint_id for r in results if r.delivery.endpoint_id and r.status_code == 410}
    for endpoint_id in failed:
        is_gone = endpoint_id in gone
        params = {
            "id": endpoint_id,
            "gone": is_gone,
            "reason": GONE if is_gone else FAILING_TOO_LONG,
            "after": disable_after_seconds,
        }
        if (await connection.execute(_DISABLE, params)).first() is not None:
            disabled.append(endpoint_id)
    return disabled
