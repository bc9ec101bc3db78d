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

# An ISO 8601 date or instant (Python's `datetime.fromisoformat` reads it; a bare number is not one).
INSTANT = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$"
Since = Annotated[
    str | None,
    Query(
        pattern=INSTANT,
        description="From this instant or date (ISO 8601; without a time zone: UTC), inclusive. Default: the start "
        f"of the UTC day {DEFAULT_DAYS} days before `until`.",
        examples=["2026-11-01"],
    ),
]
Until = Annotated[
    str | None,
    Query(pattern=INSTANT, description="To this instant or date, exclusive. Default: now.", examples=["2026-12-01"]),
]


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", details=[{"field": field, "message": message}])


def _instant(field: str, value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except ValueError:
        raise _invalid(field, "not a date or an instant (ISO 8601, e.g. 2026-11-01 or 2026-11-01T12:00:00Z)") from None
    except OverflowError:  # an offset taking it past year 9999 or before year 1 in UTC
        raise _invalid(field, "out of range once converted to UTC") from None


def _period(since: str | None, until: str | None, max_days: int) -> tuple[datetime, datetime]:
    end = _instant("until", until) if until is not None else utc_now()
    try:
        start = _instant("since", since) if since is not None else day_start(end - timedelta(days=DEFAULT_DAYS))
    except OverflowError:  # `until` in year 1: nothing is before it
        raise _invalid("until", "too early: no usage is that old") from None
    if start >= end:
        raise _invalid("since", "must be before `until`")
    if end - start > timedelta(days=max_days):
        raise _invalid("until", f"the period may be at most {max_days} days (SWITCHBOARD_USAGE_MAX_DAYS)")
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
