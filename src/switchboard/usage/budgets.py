"""Cost budgets: a daily cap per user (their tier's `daily_cost_usd`, or their own override), per agent
(SWITCHBOARD_AGENT_DAILY_COST_USD) and per API key (`api_keys.daily_cost_usd`), each per UTC day.

A day's spend is the cost of the model responses made that day (`run_steps.cost_usd` by `started_at`, the
responses of child runs included: they belong to the same user, their own agent, and their root's key). Checked
before a run is created (`check_budget`: 429 `budget_exceeded`) and before each model request of a run
(`usage.run_gate`). Responses of models without a known price (the offline model, models genai-prices does not
know and the operator did not price) cost nothing here: USD budgets do not stop them; tokens count for TPM."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.auth.principal import Principal
from switchboard.kit.clock import utc_now
from switchboard.kit.errors import BudgetExceeded
from switchboard.limits.tiers import tier_of
from switchboard.observability.metrics import BUDGET_REJECTIONS
from switchboard.settings import Settings

Budget = Literal["user", "agent", "api_key"]
UNPRICED_NOTE = "Models without a known price (such as `offline`) are counted in tokens, not dollars, and never stop."


@dataclass(frozen=True)
class Cap:
    budget: Budget
    limit_usd: Decimal
    spent_usd: Decimal


def day_start(now: datetime) -> datetime:
    """The start of `now`'s UTC day: budgets reset at midnight UTC."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def next_reset(now: datetime) -> datetime:
    """When the daily budgets of `now`'s day reset: the next midnight UTC."""
    return day_start(now) + timedelta(days=1)


_SPENT = {
    # The cost of the model responses made since :day, by whose runs made them.
    "user": "r.user_id = :user_id",
    "agent": "r.agent = :agent",
    "api_key": "r.api_key_id = :api_key_id",
}


def _spent(budget: Budget) -> str:
    condition = _SPENT[budget]  # a constant
    return (
        "(SELECT coalesce(sum(s.cost_usd), 0) FROM run_steps s JOIN runs r ON r.id = s.run_id "  # noqa: S608
        f"WHERE s.kind = 'model_request' AND s.started_at >= :day AND {condition})"
    )


async def spending(
    connection: AsyncConnection,
    *,
    now: datetime,
    user_id: int,
    agent: str,
    api_key_id: int | None,
    user_cap: Decimal | None,
    agent_cap: Decimal | None,
    key_cap: Decimal | None,
) -> list[Cap]:
    """Today's spend against each cap that applies, in one statement (none when no cap applies)."""
    columns: list[str] = []
    params: dict[str, Any] = {"day": day_start(now), "user_id": user_id, "agent": agent, "api_key_id": api_key_id}
    if user_cap is not None:
        columns.append(f"{_spent('user')} AS user")
    if agent_cap is not None:
        columns.append(f"{_spent('agent')} AS agent")
    if api_key_id is not None and key_cap is not None:
        columns.append(f"{_spent('api_key')} AS api_key")
    if not columns:
        return []
    row = (await connection.execute(text(f"SELECT {', '.join(columns)}"), params)).one()._mapping
    caps: list[Cap] = []
    if user_cap is not None:
        caps.append(Cap("user", user_cap, row["user"]))
    if agent_cap is not None:
        caps.append(Cap("agent", agent_cap, row["agent"]))
    if api_key_id is not None and key_cap is not None:
        caps.append(Cap("api_key", key_cap, row["api_key"]))
    return caps


def refusal(cap: Cap, now: datetime, *, agent: str, stopping: bool = False) -> BudgetExceeded:
    """429 `budget_exceeded`: which budget, spent against its cap, and when it resets (`Retry-After` too)."""
    resets_at = next_reset(now)
    retry_after = max(1, math.ceil((resets_at - now).total_seconds()))
    whose = {"user": "your daily", "agent": f"the agent {agent!r}'s daily", "api_key": "this API key's daily"}
    verb = "would pass" if stopping else "is spent"
    message = (
        f"Budget exceeded: {whose[cap.budget]} cost budget {verb} (${cap.spent_usd:.6f} of ${cap.limit_usd} spent "
        f"today, UTC). It resets at {resets_at.isoformat().replace('+00:00', 'Z')}. {UNPRICED_NOTE}"
    )
    details = {
        "budget": cap.budget,
        "spent_usd": float(cap.spent_usd),
        "limit_usd": float(cap.limit_usd),
        "resets_at": resets_at.isoformat().replace("+00:00", "Z"),
    }
    return BudgetExceeded(message, details=details, headers={"Retry-After": str(retry_after)})


async def check_budget(connection: AsyncConnection, settings: Settings, user: Principal, agent: str) -> None:
    """Raise `BudgetExceeded` (429 `budget_exceeded`, saying when the cap resets) when a cap is reached."""
    user_cap = tier_of(settings.tiers, user).daily_cost_usd
    agent_cap = settings.agent_daily_cost_usd.get(agent)
    key_cap = user.key_daily_cost_usd
    if user_cap is None and agent_cap is None and key_cap is None:
        return  # the hot path: nothing to read
    now = utc_now()
    caps = await spending(
        connection,
        now=now,
        user_id=user.user_id,
        agent=agent,
        api_key_id=user.api_key_id,
        user_cap=user_cap,
        agent_cap=agent_cap,
        key_cap=key_cap,
    )
    for cap in caps:
        if cap.spent_usd >= cap.limit_usd:
            BUDGET_REJECTIONS.labels(cap.budget, "start").inc()
            raise refusal(cap, now, agent=agent)
