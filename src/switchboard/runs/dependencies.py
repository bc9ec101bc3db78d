"""FastAPI dependencies of the runs API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from switchboard.auth.dependencies import SessionDep
from switchboard.runs.service import RunService
from switchboard.state import app_state


def _run_service(request: Request, session: SessionDep) -> RunService:
    state = app_state(request)
    return RunService(session, state.agents, state.settings)


RunServiceDep = Annotated[RunService, Depends(_run_service)]
"""The runs service on the request's unit of work (committed when the endpoint returns)."""
