"""The runs API: create (background, wait, stream), read, list, cancel, approve, steps and resumable events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse

from switchboard.auth.dependencies import PrincipalDep, RunsWriterDep
from switchboard.kit.errors import API_ERRORS, ErrorResponse, ValidationFailed
from switchboard.kit.pagination import CursorParam, LimitParam, Page
from switchboard.kit.request_context import current_request_id
from switchboard.limits.guard import RunCreatorDep
from switchboard.models.runs import SETTLED, RunStatus
from switchboard.runs.dependencies import RunServiceDep
from switchboard.runs.idempotency import IdempotencyKeyHeader
from switchboard.runs.repository import RunFilter
from switchboard.runs.schemas import ApprovalDecision, RunCreate, RunOut, StepOut
from switchboard.runs.service import RunService
from switchboard.runs.starting import events_of, sse, start_run, wait_for
from switchboard.runs.waiting import interruptions
from switchboard.state import app_state

router = APIRouter(prefix="/v1/runs", tags=["runs"], responses={**API_ERRORS, 404: {"model": ErrorResponse}})

KEEPALIVE_SECONDS = 10  # a comment line this often on an idle stream (proxies drop silent connections)
MAX_EVENT_ID = 2**31 - 1  # events are numbered in a 32-bit column

EVENTS_DOC = (
    "Server-sent events, numbered per run (`id:` 1, 2, 3…). Types: `status` (`{status, …}`), `text_delta` "
    "(`{index, delta}`), `message` (`{seq, kind, message}`: each Pydantic AI message as it is stored), "
    "`tool_call`, `tool_result`, `approval_required` (`{calls}`), `approval_decided`, `cancel_requested`, "
    "`retry` (`{retry, retry_in_seconds, error, void_chars}`: a model request failed and is made again; the last "
    "`void_chars` characters of text, everything since the last `message` or `tool_result`, are void), and a "
    "last `end` (`{status, output, error, usage}`), after which the stream closes. Idle streams get a `: ping` "
    "comment every 10 s."
)
CREATE_ERRORS: dict[int | str, dict[str, object]] = {
    409: {
        "model": ErrorResponse,
        "description": "Thread or agent busy (strategy/limit `reject`), or the same "
        "Idempotency-Key is still being processed.",
    },
    413: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
}


@router.post(
    "",
    status_code=202,
    summary="Start a background run",
    responses={
        202: {"model": RunOut, "description": "Queued. `Location` is the run: follow its /events, or poll it."},
        **CREATE_ERRORS,
    },
)
async def create_run(
    body: RunCreate, request: Request, user: RunCreatorDep, idempotency_key: IdempotencyKeyHeader = None
) -> JSONResponse:
    """Queue a run of `agent` on `message`, on `thread_id` or a new thread. The run is committed before this
    answers: it will run even if this server dies now: hand work off and pick up the result later."""
    # This is what seed 002 called "delegation".
    started = await start_run(
        app_state(request),
        user,
        body,
        route="runs",
        request_id=current_request_id(),
        idempotency_key=idempotency_key,
    )
    content = started.replayed or started.run.model_dump(mode="json")
    return JSONResponse(content, status_code=202, headers={"Location": f"/v1/runs/{started.run.id}"})


@router.post(
    "/wait",
    summary="Run and wait for the result",
    response_model=RunOut,
    responses={
        202: {"model": RunOut, "description": "The server began to shut down first: the run as it is; it goes on."},
        **CREATE_ERRORS,
    },
)
async def create_run_and_wait(
    body: RunCreate,
    request: Request,
    response: Response,
    user: RunCreatorDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> RunOut | JSONResponse:
    """Like POST /v1/runs, then answers when the run has finished or needs approval (`requires_action`).
    After SWITCHBOARD_RUN_WAIT_SECONDS it answers with the run as it is; follow it at `Location`. If the server
    begins to shut down meanwhile, it answers at once: 202 with the run as it is (another worker carries on)."""
    state = app_state(request)
    started = await start_run(
        state,
        user,
        body,
        route="runs/wait",
        request_id=current_request_id(),
        idempotency_key=idempotency_key,
        here=True,
        stream_tokens=False,
    )
    location = {"Location": f"/v1/runs/{started.run.id}"}
    async with interruptions(state, request) as interrupted:
        run = await wait_for(state, started.run.id, interrupted, started.settled_here)
    if state.draining.is_set() and run.status not in SETTLED:
        return JSONResponse(run.model_dump(mode="json"), status_code=202, headers=location)
    response.headers.update(location)
    return run


@router.post(
    "/stream",
    summary="Run and stream its events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": EVENTS_DOC}, **CREATE_ERRORS},
)
async def create_run_and_stream(
    body: RunCreate, request: Request, user: RunCreatorDep, idempotency_key: IdempotencyKeyHeader = None
) -> EventSourceResponse:
    """Like POST /v1/runs, then streams the run's events from the first. If the connection drops, resume with
    GET /v1/runs/{id}/events and `Last-Event-ID`: the run itself goes on regardless."""
    state = app_state(request)
    started = await start_run(
        state,
        user,
        body,
        route="runs/stream",
        request_id=current_request_id(),
        idempotency_key=idempotency_key,
        here=True,
    )

    async def stream() -> AsyncIterator[dict[str, str]]:
        async for event in events_of(state, started.run.id):
            yield sse(event)

    return EventSourceResponse(stream(), ping=KEEPALIVE_SECONDS, headers={"Location": f"/v1/runs/{started.run.id}"})


@router.get("", summary="List your runs, newest first")
async def list_runs(
    user: PrincipalDep,
    service: RunServiceDep,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
    thread_id: Annotated[uuid.UUID | None, Query(description="Only runs on this thread.")] = None,
    agent: Annotated[str | None, Query(max_length=100, description="Only runs of this agent.")] = None,
    status: Annotated[RunStatus | None, Query(description="Only runs in this status.")] = None,
) -> Page[RunOut]:
    where = RunFilter(thread_id=thread_id, agent=agent, status=status)
    runs, next_cursor = await service.page(user, where, limit, cursor)
    return Page[RunOut](items=await service.outs(runs), next_cursor=next_cursor)


@router.get("/{run_id}", summary="Get one of your runs")
async def get_run(run_id: uuid.UUID, user: PrincipalDep, service: RunServiceDep) -> RunOut:
    """With its child runs as a tree (`children`): a pipeline's steps, agents its agent called as tools."""
    return await service.tree(await service.get(user, run_id))


@router.get("/{run_id}/children", summary="The run's child runs, newest first")
async def list_children(
    run_id: uuid.UUID, user: PrincipalDep, service: RunServiceDep, limit: LimitParam = 20, cursor: CursorParam = None
) -> Page[RunOut]:
    """Ordinary runs, each with its own events, steps and cancel; `step` says what each does for this one."""
    run = await service.get(user, run_id)
    runs, next_cursor = await service.page(user, RunFilter(parent_id=run.id), limit, cursor)
    return Page[RunOut](items=await service.outs(runs), next_cursor=next_cursor)


@router.post(
    "/{run_id}/cancel",
    summary="Cancel a run",
    responses={409: {"model": ErrorResponse, "description": "The run has already finished."}},
)
async def cancel_run(run_id: uuid.UUID, request: Request, user: PrincipalDep) -> RunOut:
    """A queued or paused run is cancelled at once. A running one is flagged: its worker, in whichever process,
    stops it between steps or in the middle of a streamed model response, keeping what it produced; the run
    then ends `cancelled` (follow it with /events or poll it). Its child runs (a pipeline's steps, agents its
    agent called) are cancelled with it."""
    state = app_state(request)
    return await RunService.cancel_with_children(state.db, state.agents, state.settings, user, run_id)


@router.post(
    "/{run_id}/approvals",
    summary="Approve or deny a tool call waiting for approval",
    responses={409: {"model": ErrorResponse, "description": "Not awaiting approval, or already decided."}},
)
async def decide_approval(
    run_id: uuid.UUID, body: ApprovalDecision, user: RunsWriterDep, service: RunServiceDep
) -> RunOut:
    """When the last pending call of the run is decided, the run goes back to the queue and resumes: approved
    calls run, denied ones do not and the model is told the reason. The run's owner decides; an admin may
    decide any user's (see GET /v1/approvals), recorded as the step's `decided_by`. Needs the `runs:write`
    scope: an approval lets a run act."""
    return await service.out(await service.decide(user, run_id, body))


@router.get("/{run_id}/steps", summary="The run's timeline: model requests and tool calls")
async def list_steps(run_id: uuid.UUID, user: PrincipalDep, service: RunServiceDep) -> list[StepOut]:
    return [StepOut.model_validate(s) for s in await service.steps(user, run_id)]


@router.get(
    "/{run_id}/events",
    summary="Stream the run's events (resumable)",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": EVENTS_DOC}},
)
async def stream_events(
    run_id: uuid.UUID,
    request: Request,
    user: PrincipalDep,
    service: RunServiceDep,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    last_event_id: int | None = Query(
        default=None,
        ge=0,
        le=MAX_EVENT_ID,
        description="Resume after this event (the same as the `Last-Event-ID` header).",
    ),
) -> EventSourceResponse:
    """All events after `Last-Event-ID` (header or query; none = from the first), then the live tail, from
    whichever server process runs the run, until `end`."""
    state = app_state(request)
    await service.get(user, run_id)
    after = last_event_id if last_event_id is not None else _parse_last_event_id(last_event_id_header)

    async def stream() -> AsyncIterator[dict[str, str]]:
        async for event in events_of(state, run_id, after):
            yield sse(event)

    return EventSourceResponse(stream(), ping=KEEPALIVE_SECONDS)


def _parse_last_event_id(value: str | None) -> int:
    if value is None or value == "":
        return 0
    # ASCII digits only (str.isdigit also takes "²"), and no more than an event number can be.
    problem = None
    if not (value.isascii() and value.isdigit()):
        problem = "not a number"
    elif len(value) > 10 or int(value) > MAX_EVENT_ID:
        problem = f"larger than any event number ({MAX_EVENT_ID})"
    if problem is not None:
        raise ValidationFailed(
            "Last-Event-ID must be the number of an event of this run (the `id:` of the last event you got).",
            details=[{"field": "Last-Event-ID", "message": problem}],
        )
    return int(value)
