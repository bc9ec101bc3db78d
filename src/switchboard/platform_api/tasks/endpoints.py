"""Seed 002's tasks API: `/tasks…`, behind an API key like every route."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from switchboard.auth.dependencies import PrincipalDep, RunsWriterDep, SessionDep
from switchboard.kit.errors import API_ERRORS, ErrorResponse
from switchboard.kit.pagination import CursorParam, LimitParam
from switchboard.kit.request_context import current_request_id
from switchboard.limits.guard import RunCreatorDep
from switchboard.platform_api.models import PlatformTask, TaskType
from switchboard.platform_api.tasks import events, views
from switchboard.platform_api.tasks.create_body import OPENAPI_BODY, read_task_create
from switchboard.platform_api.tasks.schemas import (
    EventAccepted,
    TaskCreated,
    TaskDetail,
    TaskOut,
    TaskPage,
    TaskPatch,
    TaskStatus,
)
from switchboard.platform_api.tasks.service import TaskService
from switchboard.runs.schemas import RunOut
from switchboard.state import app_state

TAG = "agent platform: tasks"
router = APIRouter(prefix="/tasks", tags=[TAG], responses={**API_ERRORS, 404: {"model": ErrorResponse}})
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorResponse, "description": "`conflict`: the task is disabled, or its schedule or trigger was "
          "deleted through /v1."}
}  # fmt: skip


def _service(request: Request, session: SessionDep) -> TaskService:
    state = app_state(request)
    return TaskService(session, state.agents, state.settings)


ServiceDep = Annotated[TaskService, Depends(_service)]


async def _out(service: TaskService, task: PlatformTask) -> TaskOut:
    return (await views.outs(service.session, service.settings, [task]))[0]


@router.post(
    "",
    status_code=201,
    summary="Create a task",
    responses={413: {"model": ErrorResponse}},
    openapi_extra=OPENAPI_BODY,
)
async def create_task(request: Request, user: RunCreatorDep, service: ServiceDep) -> TaskCreated:
    """`delegation` and `research`: a run is queued now (`latest_run`), for any worker. `scheduled`: a schedule
    (GET /v1/schedules/{schedule_id}). `triggered`: a trigger; send events to `webhook_url` with your API key,
    or have a sender sign them with `trigger_secret` (shown once) and post them to `ingest_url`. Each run's
    outcome goes to the `notification_config` channels (and to your webhook endpoints, /v1/webhooks)."""
    body = await read_task_create(request)
    task, secret = await service.create(user, body, current_request_id())
    return TaskCreated(**(await _out(service, task)).model_dump(), trigger_secret=secret)


@router.get("", summary="List your tasks, newest first")
async def list_tasks(
    user: PrincipalDep,
    service: ServiceDep,
    task_type: Annotated[TaskType | None, Query(description="Only tasks of this type.")] = None,
    status: Annotated[TaskStatus | None, Query(description="Only tasks in this status.")] = None,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
) -> TaskPage:
    tasks, next_cursor = await service.page(user, task_type, status, limit, cursor)
    return TaskPage(items=await views.outs(service.session, service.settings, tasks), next_cursor=next_cursor)


@router.get("/{task_id}", summary="Get one of your tasks, with its runs")
async def get_task(task_id: uuid.UUID, user: PrincipalDep, service: ServiceDep) -> TaskDetail:
    task = await service.get(user, task_id)
    runs = await views.recent_runs(service.session, task)
    return TaskDetail(**(await _out(service, task)).model_dump(), runs=runs)


@router.patch("/{task_id}", summary="Change a task", responses={**CONFLICT, 413: {"model": ErrorResponse}})
async def update_task(task_id: uuid.UUID, body: TaskPatch, user: RunsWriterDep, service: ServiceDep) -> TaskOut:
    """Only the fields given change, on the task and on its schedule or trigger (a new expression or timezone
    recomputes the next tick from now). For a delegation or research task, the prompt and agent are those of
    its next execution."""
    return await _out(service, await service.update(user, task_id, body))


@router.delete("/{task_id}", status_code=204, summary="Delete a task (its runs stay)")
async def delete_task(task_id: uuid.UUID, user: PrincipalDep, service: ServiceDep) -> Response:
    """The task and its schedule or trigger are deleted. Its runs stay, as the record of what was done (in
    /v1/runs; their metadata names the task); runs not finished yet are not cancelled
    (POST /v1/runs/{id}/cancel does that)."""
    await service.delete(user, task_id)
    return Response(status_code=204)


@router.post(
    "/{task_id}/execute",
    status_code=202,
    summary="Run a task now (queued)",
    responses={202: {"model": RunOut, "description": "Queued; `Location` is the run."}, **CONFLICT},
)
async def execute_task(task_id: uuid.UUID, request: Request, user: RunCreatorDep, service: ServiceDep) -> JSONResponse:
    """Queues one run now and answers at once (the run is executed by a worker, never inside this request):
    a scheduled task's as its schedule's run-now, a triggered task's with its instructions and no event."""
    run = await service.execute(user, task_id, current_request_id())
    out = await service.runs.out(run)
    return JSONResponse(out.model_dump(mode="json"), status_code=202, headers={"Location": f"/v1/runs/{run.id}"})


@router.post("/{task_id}/disable", summary="Disable a task")
async def disable_task(task_id: uuid.UUID, user: PrincipalDep, service: ServiceDep) -> TaskOut:
    """No more runs (ticks, events, executions) until enabled again with PATCH `{"enabled": true}`. Runs
    already started go on."""
    return await _out(service, await service.disable(user, task_id))


EventIdHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="The event's id: the same id twice starts one run (the repeat answers 200 with it).",
    ),
]
EVENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "description": "The event: JSON (passed to the agent verbatim, as fenced data) or text.",
        "content": {"application/json": {"schema": {}}, "text/plain": {"schema": {"type": "string"}}},
    }
}


@router.post(
    "/webhooks/{task_id}",
    status_code=202,
    summary="Send an event to a triggered task",
    response_model=EventAccepted,
    responses={
        200: {"model": EventAccepted, "description": "This Idempotency-Key was received before: its run."},
        202: {"model": EventAccepted, "description": "Accepted: a run was queued. `Location` is the run."},
        413: {"model": ErrorResponse, "description": "Larger than SWITCHBOARD_TRIGGER_MAX_PAYLOAD_BYTES."},
        **CONFLICT,
    },
    openapi_extra=EVENT_BODY,
)
async def receive_event(
    task_id: uuid.UUID, request: Request, user: RunCreatorDep, session: SessionDep, event_id: EventIdHeader = None
) -> JSONResponse:
    """With the task owner's API key (authenticated as every route here). The payload
    reaches the agent after the task's instructions as data, fenced and labelled as untrusted, never as
    instructions. A sender that should not hold your API key posts to the task's `ingest_url` instead, signed
    with its trigger's secret."""
    state = app_state(request)
    accepted = await events.receive(
        session, state.agents, state.settings, user, task_id, await request.body(), event_id, current_request_id()
    )
    content = accepted.model_dump(mode="json")
    if accepted.duplicate:
        return JSONResponse(content, status_code=200)
    return JSONResponse(content, status_code=202, headers={"Location": f"/v1/runs/{accepted.run_id}"})
