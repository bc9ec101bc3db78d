"""Seed 004's routes, on runs: `POST /agents/run {agent_type, user_id?, input?}` → 202 `{run_id}`, and
`GET /agents/status/{run_id}` → `{run_id, state, result, error}`.

The seed's "one agent at a time" was an in-process asyncio.Lock: it held for one process only, and a crash lost
the run. Here the agents share a concurrency limit of 1 with `on_busy=reject`, decided in PostgreSQL under a
lock, so it holds across any number of server processes: of simultaneous requests exactly one gets 202 and the
rest 409. Runs are durable and executed by workers. Identity comes from the API key; the seed's `user_id` is
kept as an opaque client reference in the run's metadata, never as identity.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from switchboard.auth.dependencies import PrincipalDep, SessionDep
from switchboard.kit.errors import API_ERRORS, BadRequest, ErrorResponse
from switchboard.kit.request_context import current_request_id
from switchboard.kit.state import app_state
from switchboard.runs.doors import start_run
from switchboard.runs.schemas import RunCreate
from switchboard.runs.service import RunService

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/agents", tags=["compat: seed 004"], responses=API_ERRORS)

AGENT_TYPES = ("document-extractor", "policy-checker")
STATES = {
    "queued": "PENDING",
    "running": "RUNNING",
    "requires_action": "RUNNING",
    "succeeded": "DONE",
    "failed": "ERROR",
    "cancelled": "ERROR",
    "timed_out": "ERROR",
}


class AgentRunRequest(BaseModel):
    agent_type: str = Field(examples=["document-extractor"], description="`document-extractor` or `policy-checker`.")
    user_id: str | None = Field(
        default=None,
        max_length=200,
        description="Kept as a client reference in the run's metadata (`seed004_user_id`); who runs the agent "
        "is decided by the API key.",
    )
    input: str | None = Field(
        default=None, description="The document (document-extractor) or the claim (policy-checker), as text."
    )


class AgentRunAccepted(BaseModel):
    run_id: uuid.UUID


class AgentRunStatus(BaseModel):
    run_id: uuid.UUID
    state: Literal["PENDING", "RUNNING", "DONE", "ERROR"]
    result: Any = Field(default=None, description="The agent's structured output once DONE.")
    error: str | None = None


@router.post(
    "/run",
    status_code=202,
    summary="Seed 004: start an agent run (one at a time)",
    responses={
        202: {"model": AgentRunAccepted},
        400: {"model": ErrorResponse, "description": "Unsupported agent_type."},
        409: {"model": ErrorResponse, "description": "An agent is already running, please retry later."},
    },
)
async def run_agent(body: AgentRunRequest, request: Request, user: PrincipalDep) -> JSONResponse:
    state = app_state(request)
    if body.agent_type not in AGENT_TYPES or body.agent_type not in state.agents:
        log.info("seed004.unsupported_agent_type", agent_type=body.agent_type)
        raise BadRequest(f"Unsupported agent_type {body.agent_type!r}: use one of {', '.join(AGENT_TYPES)}.")
    metadata = {"seed004_user_id": body.user_id} if body.user_id is not None else {}
    started = await start_run(
        state,
        user,
        RunCreate(agent=body.agent_type, message=body.input or "(no input given)", metadata=metadata),
        route="agents/run",
        request_id=current_request_id(),
    )
    log.info("agent_start", agent_type=body.agent_type, user_id=body.user_id, run_id=str(started.run.id))
    return JSONResponse({"run_id": str(started.run.id)}, status_code=202)


@router.get("/status/{run_id}", summary="Seed 004: poll a run's state and result")
async def run_status(run_id: uuid.UUID, request: Request, user: PrincipalDep, session: SessionDep) -> AgentRunStatus:
    state = app_state(request)
    run = await RunService(session, state.agents, state.settings).get(user, run_id)
    error = (run.error or {}).get("message") if run.status == "failed" else None
    if run.status in ("cancelled", "timed_out"):
        error = f"The run was {run.status.replace('_', ' ')}."
    result = run.output if run.status == "succeeded" else None
    return AgentRunStatus(run_id=run.id, state=STATES[run.status], result=result, error=error)
