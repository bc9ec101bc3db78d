"""Usage and cost over a period: your own (`GET /v1/usage`) and everyone's (`GET /v1/admin/usage`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request

from switchboard.auth.dependencies import AdminDep, PrincipalDep, SessionDep
from switchboard.kit.clock import utc_now
from switchboard.kit.errors import API_ERRORS, ErrorResponse, ValidationFailed, raises
from switchboard.state import app_state
from switchboard.usage.budgets import day_start
from switchboard.usage.report import usage_report
from switchboard.usage.schemas import AdminGroupBy, GroupBy, UsageReport

router = APIRouter(tags=["usage and cost"], responses=API_ERRORS)

DEFAULT_DAYS = 30
MAX_USER_ID = 2**63 - 1

Since = Annotated[
    datetime | None,
    Query(
        description="From this instant or date (ISO 8601; without a time zone: UTC), inclusive. Default: the start "
        f"of the UTC day {DEFAULT_DAYS} days before `until`.",
        examples=["2026-11-01"],
    ),
]
Until = Annotated[
    datetime | None, Query(description="To this instant or date, exclusive. Default: now.", examples=["2026-12-01"])
]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _period(since: datetime | None, until: datetime | None, max_days: int) -> tuple[datetime, datetime]:
    end = _utc(until) if until is not None else utc_now()
    start = _utc(since) if since is not None else day_start(end - timedelta(days=DEFAULT_DAYS))
    problem = None
    if start >= end:
        problem = ("since", "must be before `until`")
    elif end - start > timedelta(days=max_days):
        problem = ("until", f"the period may be at most {max_days} days (SWITCHBOARD_USAGE_MAX_DAYS)")
    if problem is not None:
        field, message = problem
        raise ValidationFailed(f"{field}: {message}", details=[{"field": field, "message": message}])
    return start, end


@router.get(
    "/v1/usage",
    summary="Your model usage and its cost over a period, by day, agent or model",
    description="Every model response of your runs in the period (by when its request started), grouped: "
    "requests, input/output/cache tokens, cost in USD (null when no response in the group had a known price, with "
    "`unpriced_requests` counting those without one) and how many runs made them. Child runs' responses count "
    "once, in their own agent's group. `total` equals the sum of `usage` and `cost_usd` over your runs without a "
    "`parent_id` in the period.",
)
@raises(ValidationFailed)
async def my_usage(
    request: Request,
    caller: PrincipalDep,
    session: SessionDep,
    group_by: Annotated[GroupBy, Query(description="How to group: by UTC `day`, `agent` or `model`.")] = GroupBy.DAY,
    since: Since = None,
    until: Until = None,
) -> UsageReport:
    start, end = _period(since, until, app_state(request).settings.usage_max_days)
    connection = await session.connection()
    return await usage_report(connection, group_by=group_by.value, since=start, until=end, user_id=caller.user_id)


@router.get(
    "/v1/admin/usage",
    tags=["admin"],
    summary="Every user's model usage and its cost over a period, by day, agent, model or user (admins only)",
    description="As GET /v1/usage, across users (`user_id` narrows it to one), and `group_by=user` too.",
    responses={403: {"model": ErrorResponse}},
)
@raises(ValidationFailed)
async def all_usage(
    request: Request,
    caller: AdminDep,
    session: SessionDep,
    group_by: Annotated[
        AdminGroupBy, Query(description="How to group: by UTC `day`, `agent`, `model` or `user`.")
    ] = AdminGroupBy.DAY,
    since: Since = None,
    until: Until = None,
    user_id: Annotated[int | None, Query(ge=1, le=MAX_USER_ID, description="Only this user's usage.")] = None,
) -> UsageReport:
    start, end = _period(since, until, app_state(request).settings.usage_max_days)
    connection = await session.connection()
    return await usage_report(connection, group_by=group_by.value, since=start, until=end, user_id=user_id)
