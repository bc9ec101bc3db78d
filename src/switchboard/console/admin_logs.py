"""The admin's request logs, newest first, filtered by path, status, user and time, as
GET /v1/admin/request-logs reads them (`RequestLogRepository`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from switchboard.console.dependencies import ConsoleAdminDep
from switchboard.console.rendering import templates
from switchboard.console.routing import ConsoleRoute
from switchboard.kit.errors import NotFound, ValidationFailed
from switchboard.kit.pagination import CursorParam
from switchboard.models import User
from switchboard.observability.repository import RequestLogFilter, RequestLogRepository
from switchboard.state import app_state
from switchboard.users.service import UserService

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

PAGE_SIZE = 50
# HTML forms send empty fields: empty is as good as absent, so every filter is a string here.
Filter = Annotated[str, Query(max_length=2048)]


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", details=[{"field": field, "message": message}])


def _status(value: str) -> int | None:
    if not value.strip():
        return None
    if not re.fullmatch(r"[0-9]{3}", value.strip()) or not 100 <= int(value) <= 599:
        raise _invalid("status", "an HTTP status code, 100 to 599")
    return int(value)


def _since(value: str) -> datetime | None:
    """A date or a `datetime-local` value (`2026-11-28T07:30`), read as UTC unless it names its zone."""
    if not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _invalid("since", "a date and time, e.g. 2026-11-28T07:30 (UTC)") from None
    try:  # a time near year 1 or 9999 in another zone is outside what can be compared in UTC
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:
        raise _invalid("since", "a date and time between the years 1 and 9999") from None


async def _user(service: UserService, value: str) -> User | None:
    """A user by email or id; one that names no user is a 422 on the filter."""
    value = value.strip()
    if not value:
        return None
    try:
        if re.fullmatch(r"[0-9]{1,18}", value):
            return await service.get(int(value))
        return await service.get_by_email(value)
    except NotFound:
        raise _invalid("user", f"no user {value!r}: give an email or a user id") from None


@router.get("/admin/logs")
async def logs_page(
    request: Request,
    admin: ConsoleAdminDep,
    path: Filter = "",
    status: Filter = "",
    user: Filter = "",
    since: Filter = "",
    cursor: CursorParam = None,
) -> Response:
    async with app_state(request).db.unit_of_work() as session:
        who = await _user(UserService(session), user)
        where = RequestLogFilter(
            path=path.strip() or None,
            status=_status(status),
            user_id=who.id if who else None,
            since=_since(since),
        )
        rows, next_cursor = await RequestLogRepository(session).page(where, PAGE_SIZE, cursor)
        users = await UserService(session).users_by_id({row.user_id for row in rows if row.user_id is not None})
    emails = {user_id: found.email for user_id, found in users.items()}
    filters = {"path": path, "status": status, "user": user, "since": since}
    next_query = urlencode({**{k: v for k, v in filters.items() if v}, "cursor": next_cursor}) if next_cursor else None
    context: dict[str, Any] = {
        "logs": rows,
        "emails": emails,
        "filters": filters,
        "next_query": next_query,
        "cursor": cursor,
        "section": "logs",
    }
    return templates.TemplateResponse(request, "admin_logs.html", context)
