from __future__ import annotations

from fastapi import APIRouter, Request

from switchboard.agents.schemas import AgentOut
from switchboard.auth.dependencies import PrincipalDep
from switchboard.kit.errors import API_ERRORS
from switchboard.state import app_state

router = APIRouter(prefix="/v1/agents", tags=["agents"], responses=API_ERRORS)


@router.get("", summary="The agents this server runs")
async def list_agents(request: Request, user: PrincipalDep) -> list[AgentOut]:
    return [
        AgentOut(name=a.spec.name, description=a.spec.description, model=a.model.name, tools=a.spec.tool_names())
        for a in app_state(request).agents.all()
    ]
