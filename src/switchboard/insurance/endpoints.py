"""The minimal agent runner's API (seed 004), on runs: `POST /agents/run {agent_type, user_id?, input?}` → 202
`{run_id}`, and `GET /agents/status/{run_id}` → `{run_id, state, result, error}`.

The seed's "one agent at a time" was an in-process asyncio.Lock: it held for one process only, and a crash lost
the run. Here the agents share a concurrency limit of 1 with `on_busy=reject`, decided in PostgreSQL under a
lock, so it holds across any number of server processes: of simultaneous requests exactly one gets 202 and the
rest 409. Runs are durable and executed by workers. Identity comes from the API key; the seed's `user_id` is
kept as an opaque client reference in the run's metadata, never as identity.
"""

from __future__ import annotations

import uuid

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from switchboard.auth.dependencies import PrincipalDep
from switchboard.insurance.extractor import NAME as EXTRACTOR
from switchboard.insurance.policy import NAME as POLICY_CHECKER
from switchboard.insurance.schemas import AgentRunAccepted, AgentRunRequest, AgentRunStatus, RunnerState
from switchboard.kit.errors import API_ERRORS, BadRequest, ErrorResponse
from switchboard.kit.request_context import current_request_id
from switchboard.limits.guard import RunCreatorDep
from switchboard.models.runs import RunStatus
from switchboard.runs.dependencies import RunServiceDep
from switchboard.runs.schemas import RunCreate
from switchboard.runs.starting import start_run
from switchboard.state import app_state

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/agents", tags=["insurance agents (one run at a time)"], responses=API_ERRORS)

AGENT_TYPES = (EXTRACTOR, POLICY_CHECKER)
STATES: dict[RunStatus, RunnerState] = {
    RunStatus.QUEUED: "PENDING",
    RunStatus.RUNNING: "RUNNING",
    RunStatus.REQUIRES_ACTION: "RUNNING",
    RunStatus.SUCCEEDED: "DONE",
    RunStatus.FAILED: "ERROR",
    RunStatus.CANCELLED: "ERROR",
    RunStatus.TIMED_OUT: "ERROR",
}


@router.post(
    "/run",
    status_code=202,
    summary="Start an insurance agent run (one at a time)",
    responses={
        202: {"model": AgentRunAccepted},
        400: {"model": ErrorResponse, "description": "Unsupported agent_type."},
        409: {"model": ErrorResponse, "description": "An agent is already running, please retry later."},
    },
)
async def run_agent(body: AgentRunRequest, request: Request, user: RunCreatorDep) -> JSONResponse:
    state = app_state(request)
    if body.agent_type not in AGENT_TYPES or body.agent_type not in state.agents:
        log.info("insurance.unsupported_agent_type", agent_type=body.agent_type)
        raise BadRequest(f"Unsupported agent_type {body.agent_type!r}: use one of {', '.join(AGENT_TYPES)}.")
    metadata = {"client_user_id": body.user_id} if body.user_id is not None else {}
    started = await start_run(
        state,
        user,
        RunCreate(agent=body.agent_type, message=body.input or "(no input given)", metadata=metadata),
        route="agents/run",
        request_id=current_request_id(),
    )
    log.info("agent_start", agent_type=body.agent_type, user_id=body.user_id, run_id=str(started.run.id))
    return JSONResponse({"run_id": str(started.run.id)}, status_code=202)


@router.get("/status/{run_id}", summary="An insurance agent run's state and result")
async def run_status(run_id: uuid.UUID, user: PrincipalDep, service: RunServiceDep) -> AgentRunStatus:
    run = await service.get(user, run_id)
    error = (run.error or {}).get("message") if run.status == RunStatus.FAILED else None
    if run.status in (RunStatus.CANCELLED, RunStatus.TIMED_OUT):
        error = f"The run was {run.status.replace('_', ' ')}."
    result = run.output if run.status == RunStatus.SUCCEEDED else None
    return AgentRunStatus(run_id=run.id, state=STATES[run.status], result=result, error=error)
