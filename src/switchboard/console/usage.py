"""The usage page: tokens and cost per day over the last 30 days (charts drawn by static/usage.js from a JSON
block, and the same numbers as tables without JS), by agent and by model, the daily budget, and the user's rate
limits and where they stand. Admins may look at every user's usage, by user too.

The numbers are the API's: `usage_report` (GET /v1/usage, GET /v1/admin/usage) and `limits_standing`
(GET /v1/limits). An unpriced model's cost is unknown, never $0."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from switchboard.console.dependencies import ConsoleUserDep
from switchboard.console.rendering import templates
from switchboard.console.routing import ConsoleRoute
from switchboard.kit.clock import utc_now
from switchboard.kit.errors import NotFound
from switchboard.limits.endpoints import limits_standing
from switchboard.limits.tiers import tier_of
from switchboard.state import app_state
from switchboard.usage.budgets import day_start
from switchboard.usage.report import usage_report
from switchboard.usage.schemas import UsageGroup, UsageReport

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

DAYS = 30
Scope = Annotated[Literal["me", "all"], Query()]


@dataclass(frozen=True)
class DayRow:
    day: str
    group: UsageGroup | None  # None: no model request that day


def daily(report: UsageReport, first_day: datetime, days: int) -> list[DayRow]:
    """Every day of the period, oldest first, those without usage included (a chart's gap is a zero here)."""
    by_day = {group.key: group for group in report.groups}
    labels = [(first_day + timedelta(days=n)).strftime("%Y-%m-%d") for n in range(days)]
    return [DayRow(day=label, group=by_day.get(label)) for label in labels]


def series(rows: list[DayRow], first_day: datetime, budget: float | None) -> dict[str, Any]:
    """What usage.js draws: x as Unix seconds (UTC midnights); cost null where unknown (no price, or no usage)."""
    return {
        "x": [int((first_day + timedelta(days=n)).timestamp()) for n in range(len(rows))],
        "input_tokens": [row.group.input_tokens if row.group else 0 for row in rows],
        "output_tokens": [row.group.output_tokens if row.group else 0 for row in rows],
        "cost_usd": [row.group.cost_usd if row.group else None for row in rows],
        "budget_usd": budget,
    }


@router.get("/usage")
async def usage_page(request: Request, user: ConsoleUserDep, scope: Scope = "me") -> Response:
    if scope == "all" and not user.is_admin:
        raise NotFound("There is no such page.")
    state = app_state(request)
    now = utc_now()
    first_day = day_start(now - timedelta(days=DAYS - 1))
    whose = None if scope == "all" else user.user_id
    async with state.db.unit_of_work() as session:
        connection = await session.connection()
        reports: dict[str, UsageReport] = {}
        for group_by in ("day", "agent", "model", *(("user",) if scope == "all" else ())):
            reports[group_by] = await usage_report(
                connection, group_by=group_by, since=first_day, until=now, user_id=whose
            )
        limits = await limits_standing(state, user, session)
    cap = tier_of(state.settings.tiers, user).daily_cost_usd if scope == "me" else None
    budget = None if cap is None else float(cap)
    rows = daily(reports["day"], first_day, DAYS)
    today = rows[-1].group
    spent_today = (today.cost_usd if today else None) or 0.0
    # What is left of the user's own cap today (None: no cap, or the page shows everyone's spend).
    budget_left = None if budget is None or scope == "all" else max(budget - spent_today, 0.0)
    context = {
        "scope": scope,
        "since": first_day,
        "until": now,
        "days": rows,
        "series": series(rows, first_day, budget),
        "budget": budget,
        "budget_left": budget_left,
        "total": reports["day"].total,
        "by_agent": reports["agent"].groups,
        "by_model": reports["model"].groups,
        "by_user": reports["user"].groups if "user" in reports else None,
        "limits": limits,
    }
    return templates.TemplateResponse(request, "usage.html", context)
