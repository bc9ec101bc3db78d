"""Usage over a period, grouped: every model response's step (`run_steps`, kind `model_request`) joined to its
run, so each response counts once wherever it was made (a child run's responses count in its own agent's group,
and in its user's total once). The index `ix_run_steps_model_requests` (by `started_at`) bounds the scan."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.usage.schemas import UsageGroup, UsageReport, UsageTotals

_KEYS = {
    "day": "to_char(s.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
    "agent": "r.agent",
    "model": "coalesce(s.model_name, 'unknown')",
    "user": "CAST(r.user_id AS text)",
}

_SUMS = """
    count(*) AS requests,
    coalesce(sum(CAST(s.usage->>'input_tokens' AS bigint)), 0) AS input_tokens,
    coalesce(sum(CAST(s.usage->>'output_tokens' AS bigint)), 0) AS output_tokens,
    coalesce(sum(CAST(s.usage->>'cache_read_tokens' AS bigint)), 0) AS cache_read_tokens,
    coalesce(sum(CAST(s.usage->>'cache_write_tokens' AS bigint)), 0) AS cache_write_tokens,
    sum(s.cost_usd) AS cost_usd,
    count(*) FILTER (WHERE s.cost_usd IS NULL) AS unpriced_requests,
    count(DISTINCT s.run_id) AS runs
"""


def _cost(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _totals(row: Any) -> dict[str, Any]:
    return {
        "requests": row.requests,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "cache_read_tokens": row.cache_read_tokens,
        "cache_write_tokens": row.cache_write_tokens,
        "cost_usd": _cost(row.cost_usd),
        "unpriced_requests": row.unpriced_requests,
        "runs": row.runs,
    }


async def usage_report(
    connection: AsyncConnection, *, group_by: str, since: datetime, until: datetime, user_id: int | None
) -> UsageReport:
    """`user_id` None: every user's. Groups in key order (days ascending), and the total, in one statement."""
    key = _KEYS[group_by]
    who = "AND r.user_id = :user_id" if user_id is not None else ""
    email = ", (SELECT u.email FROM users u WHERE u.id = min(r.user_id)) AS email" if group_by == "user" else ""
    statement = text(f"""
        SELECT {key} AS key, GROUPING({key}) AS is_total, {_SUMS} {email}
        FROM run_steps s JOIN runs r ON r.id = s.run_id
        WHERE s.kind = 'model_request' AND s.status = 'succeeded'
          AND s.started_at >= :since AND s.started_at < :until {who}
        GROUP BY GROUPING SETS (({key}), ())
        ORDER BY is_total, key
    """)  # noqa: S608 - the key is one of _KEYS' constants; the values are bound
    params = {"since": since, "until": until, "user_id": user_id}
    # Planned for these values each time: the generic plan a reused prepared statement gets after five runs reads
    # every user's requests of the period (10x slower for one user's month, `make bench-usage`).
    await connection.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    rows = (await connection.execute(statement, params)).all()
    groups = [
        UsageGroup(key=row.key, email=getattr(row, "email", None), **_totals(row)) for row in rows if not row.is_total
    ]
    total_row = next((row for row in rows if row.is_total), None)
    zero = UsageTotals(
        requests=0,
        input_tokens=0,
        output_tokens=0,
        cache_read_tokens=0,
        cache_write_tokens=0,
        cost_usd=None,
        unpriced_requests=0,
        runs=0,
    )
    total = UsageTotals(**_totals(total_row)) if total_row is not None else zero
    return UsageReport(group_by=group_by, since=since, until=until, user_id=user_id, groups=groups, total=total)
