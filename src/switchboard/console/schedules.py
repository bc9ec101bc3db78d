"""The schedules page: the user's cron schedules, a create form whose cron field says in words when it fires
(and the next ticks) as it is typed, pause/resume, run now, and a schedule's runs as they come."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from switchboard.auth.dependencies import SessionDep, require_runs_writer
from switchboard.auth.principal import Principal
from switchboard.auth.scopes import Scope
from switchboard.console.automation_common import PAGE_SIZE, fragment, notice, require_run_creator
from switchboard.console.dependencies import ConsoleUserDep
from switchboard.console.rendering import templates
from switchboard.console.routing import ConsoleRoute, is_htmx, parsed
from switchboard.kit.clock import utc_now
from switchboard.kit.errors import ValidationFailed
from switchboard.kit.request_context import current_request_id
from switchboard.models.automation import Schedule
from switchboard.schedules import cron
from switchboard.schedules.schemas import ScheduleCreate
from switchboard.schedules.service import ScheduleService
from switchboard.state import app_state

router = APIRouter(route_class=ConsoleRoute)

PREVIEW_TICKS = 3
COMMON_TIMEZONES = ("UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo")


def _service(request: Request, session: SessionDep) -> ScheduleService:
    state = app_state(request)
    return ScheduleService(session, state.agents, state.settings)


def shown_time(instant: datetime, timezone: str, *, seconds: bool = False) -> str:
    """A tick in the schedule's own timezone, with UTC beside it when that differs."""
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    local = instant.astimezone(cron.zone(timezone))
    text = f"{local.strftime(fmt)} {timezone}"
    if timezone != "UTC":
        text += f" ({instant.astimezone(UTC).strftime(fmt)} UTC)"
    return text


def preview(expression: str, timezone: str, now: datetime) -> dict[str, Any]:
    """What the cron field says as it is typed: the expression in words (the same words as the API's
    `description`) and the next ticks, or what is wrong with it."""
    expression, timezone = expression.strip(), timezone.strip() or "UTC"
    if not expression:
        return {"error": None, "words": None, "ticks": []}
    try:
        cron.checked(expression, timezone, now)
    except ValidationFailed as exc:
        return {"error": exc.message, "words": None, "ticks": []}
    with_seconds = len(cron.expanded(expression).split()) == 6
    ticks = [
        shown_time(t, timezone, seconds=with_seconds) for t in cron.upcoming(expression, timezone, now, PREVIEW_TICKS)
    ]
    return {"error": None, "words": cron.described(expression, timezone), "ticks": ticks}


async def _rows(user: Principal, service: ScheduleService, schedules: list[Schedule]) -> list[Any]:
    statuses = await service.last_run_statuses(user, schedules)
    return [_row(s, statuses) for s in schedules]


def _row(schedule: Schedule, statuses: dict[uuid.UUID, str]) -> dict[str, Any]:
    with_seconds = len(cron.expanded(schedule.cron).split()) == 6
    return {
        "s": schedule,
        "words": cron.described(schedule.cron, schedule.timezone),
        "next": shown_time(schedule.next_fire_at, schedule.timezone, seconds=with_seconds)
        if schedule.next_fire_at
        else None,
        "last_status": statuses.get(schedule.last_run_id) if schedule.last_run_id else None,
    }


def _row_response(request: Request, row: dict[str, Any], extra: str = "") -> HTMLResponse:
    return HTMLResponse(fragment(request, "schedules_row.html", {"row": row}) + extra)


@router.get("/schedules")
async def schedules_page(
    request: Request, user: ConsoleUserDep, session: SessionDep, cursor: Annotated[str | None, Query()] = None
) -> Response:
    service = _service(request, session)
    schedules, next_cursor = await service.page(user, PAGE_SIZE, cursor)
    state = app_state(request)
    context = {
        "rows": await _rows(user, service, schedules),
        "next_cursor": next_cursor,
        "agents": state.agents.names(),
        "timezones": COMMON_TIMEZONES,
        "may_write": user.may(Scope.RUNS_WRITE),
    }
    return templates.TemplateResponse(request, "schedules.html", context)


@router.get("/schedules/preview")
async def schedule_preview(
    request: Request,
    user: ConsoleUserDep,
    cron_expression: Annotated[str, Query(alias="cron", max_length=200)] = "",
    timezone: Annotated[str, Query(max_length=64)] = "UTC",
) -> Response:
    context = preview(cron_expression, timezone, utc_now())
    return templates.TemplateResponse(request, "schedules_preview.html", context)


@router.post("/schedules")
async def create_schedule(
    request: Request,
    user: ConsoleUserDep,
    session: SessionDep,
    agent: Annotated[str, Form()],
    message: Annotated[str, Form()],
    cron_expression: Annotated[str, Form(alias="cron")],
    timezone: Annotated[str, Form()] = "UTC",
    end_at: Annotated[str, Form()] = "",
) -> Response:
    await require_runs_writer(user)
    data: dict[str, Any] = {"agent": agent, "message": message, "cron": cron_expression.strip(), "timezone": timezone}
    if end_at.strip():
        data["end_at"] = end_at.strip()
    service = _service(request, session)
    schedule = await service.create(user, parsed(ScheduleCreate, data))
    if not is_htmx(request):
        return RedirectResponse("/console/schedules", status_code=303)
    row = _row(schedule, {})
    return _row_response(request, row, notice(request, f"Schedule created: {row['words']}."))


@router.post("/schedules/{schedule_id}/pause")
async def pause_schedule(
    schedule_id: uuid.UUID, request: Request, user: ConsoleUserDep, session: SessionDep
) -> Response:
    service = _service(request, session)
    schedule = await service.set_enabled(user, schedule_id, False)
    return _row_response(request, _row(schedule, await service.last_run_statuses(user, [schedule])))


@router.post("/schedules/{schedule_id}/resume")
async def resume_schedule(
    schedule_id: uuid.UUID, request: Request, user: ConsoleUserDep, session: SessionDep
) -> Response:
    await require_runs_writer(user)
    service = _service(request, session)
    schedule = await service.set_enabled(user, schedule_id, True)
    return _row_response(request, _row(schedule, await service.last_run_statuses(user, [schedule])))


@router.post("/schedules/{schedule_id}/run")
async def run_schedule_now(
    schedule_id: uuid.UUID, request: Request, user: ConsoleUserDep, session: SessionDep
) -> Response:
    await require_run_creator(request, user)
    service = _service(request, session)
    run = await service.run_now(user, schedule_id, current_request_id())
    schedule = await service.get(user, schedule_id)
    row = _row(schedule, {run.id: str(run.status)})
    extra = notice(request, "Run started:", link=f"/console/runs/{run.id}", link_text=f"run {run.id}")
    return _row_response(request, row, extra)


@router.get("/schedules/{schedule_id}")
async def schedule_page(
    schedule_id: uuid.UUID, request: Request, user: ConsoleUserDep, session: SessionDep
) -> Response:
    service = _service(request, session)
    schedule = await service.get(user, schedule_id)
    runs, _ = await service.runs(user, schedule_id, 20, None)
    row = _row(schedule, {r.id: str(r.status) for r in runs})
    return templates.TemplateResponse(request, "schedules_detail.html", {"row": row, "runs": runs})


@router.get("/schedules/{schedule_id}/runs")
async def schedule_runs(
    schedule_id: uuid.UUID, request: Request, user: ConsoleUserDep, session: SessionDep
) -> Response:
    """The schedule's latest runs (the detail page polls this: a tick's run shows up as it is created)."""
    runs, _ = await _service(request, session).runs(user, schedule_id, 20, None)
    return templates.TemplateResponse(request, "schedules_runs.html", {"runs": runs, "schedule_id": schedule_id})
