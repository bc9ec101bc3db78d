"""The schedules API: cron schedules that create runs of an agent as their owner, and the runs they created."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from switchboard.auth.dependencies import PrincipalDep, RunsWriterDep, SessionDep
from switchboard.kit.errors import API_ERRORS, ErrorResponse
from switchboard.kit.pagination import CursorParam, LimitParam
from switchboard.kit.request_context import current_request_id
from switchboard.limits.guard import RunCreatorDep
from switchboard.runs.schemas import RunOut
from switchboard.runs.service import RunService
from switchboard.schedules.schemas import ScheduleCreate, ScheduleOut, SchedulePage, SchedulePatch, ScheduleRunPage
from switchboard.schedules.service import ScheduleService
from switchboard.state import app_state

router = APIRouter(prefix="/v1/schedules", tags=["schedules"], responses={**API_ERRORS, 404: {"model": ErrorResponse}})


def _service(request: Request, session: SessionDep) -> ScheduleService:
    state = app_state(request)
    return ScheduleService(session, state.agents, state.settings)


ServiceDep = Annotated[ScheduleService, Depends(_service)]


@router.post("", status_code=201, summary="Create a schedule", responses={413: {"model": ErrorResponse}})
async def create_schedule(body: ScheduleCreate, user: RunsWriterDep, service: ServiceDep) -> ScheduleOut:
    """Runs of `agent` on `message` at each tick of `cron` in `timezone`, as you (under the key used here: when
    it is revoked, the schedule stops, with `disabled_reason` saying so)."""
    return ScheduleOut.model_validate(await service.create(user, body))


@router.get("", summary="List your schedules, newest first")
async def list_schedules(
    user: PrincipalDep, service: ServiceDep, limit: LimitParam = 20, cursor: CursorParam = None
) -> SchedulePage:
    schedules, next_cursor = await service.page(user, limit, cursor)
    return SchedulePage(items=[ScheduleOut.model_validate(s) for s in schedules], next_cursor=next_cursor)


@router.get("/{schedule_id}", summary="Get one of your schedules")
async def get_schedule(schedule_id: uuid.UUID, user: PrincipalDep, service: ServiceDep) -> ScheduleOut:
    return ScheduleOut.model_validate(await service.get(user, schedule_id))


@router.patch("/{schedule_id}", summary="Change a schedule", responses={413: {"model": ErrorResponse}})
async def update_schedule(
    schedule_id: uuid.UUID, body: SchedulePatch, user: RunsWriterDep, service: ServiceDep
) -> ScheduleOut:
    """Only the fields given change; the next tick is recomputed from now."""
    return ScheduleOut.model_validate(await service.update(user, schedule_id, body))


@router.delete("/{schedule_id}", status_code=204, summary="Delete a schedule (its runs stay)")
async def delete_schedule(schedule_id: uuid.UUID, user: PrincipalDep, service: ServiceDep) -> Response:
    await service.delete(user, schedule_id)
    return Response(status_code=204)


@router.post("/{schedule_id}/pause", summary="Pause a schedule")
async def pause_schedule(schedule_id: uuid.UUID, user: PrincipalDep, service: ServiceDep) -> ScheduleOut:
    return ScheduleOut.model_validate(await service.set_enabled(user, schedule_id, False))


@router.post("/{schedule_id}/resume", summary="Resume a schedule", responses={409: {"model": ErrorResponse}})
async def resume_schedule(schedule_id: uuid.UUID, user: RunsWriterDep, service: ServiceDep) -> ScheduleOut:
    """From now on: ticks missed while paused are not made up. Clears `disabled_reason`; the schedule then acts
    under the key used here."""
    return ScheduleOut.model_validate(await service.set_enabled(user, schedule_id, True))


@router.post(
    "/{schedule_id}/run",
    status_code=202,
    summary="Run a schedule now, once",
    responses={202: {"model": RunOut, "description": "Queued; `Location` is the run."}, 409: {"model": ErrorResponse}},
)
async def run_schedule_now(
    schedule_id: uuid.UUID, request: Request, user: RunCreatorDep, session: SessionDep, service: ServiceDep
) -> JSONResponse:
    """One run of the schedule's agent and message now, paused or not; its `scheduled_for` is null."""
    run = await service.run_now(user, schedule_id, current_request_id())
    state = app_state(request)
    out = await RunService(session, state.agents, state.settings).out(run)
    return JSONResponse(out.model_dump(mode="json"), status_code=202, headers={"Location": f"/v1/runs/{run.id}"})


@router.get("/{schedule_id}/runs", summary="The runs a schedule created, newest first")
async def list_schedule_runs(
    schedule_id: uuid.UUID,
    request: Request,
    user: PrincipalDep,
    session: SessionDep,
    service: ServiceDep,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
) -> ScheduleRunPage:
    runs, next_cursor = await service.runs(user, schedule_id, limit, cursor)
    state = app_state(request)
    outs = await RunService(session, state.agents, state.settings).outs(runs)
    return ScheduleRunPage(items=outs, next_cursor=next_cursor)
