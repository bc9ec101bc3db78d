from __future__ import annotations

from fastapi import APIRouter, Request

from switchboard.agents.registry import AgentRegistry
from switchboard.agents.schemas import AgentOut, PipelineStepOut
from switchboard.auth.dependencies import PrincipalDep
from switchboard.kit.errors import API_ERRORS
from switchboard.state import app_state

router = APIRouter(prefix="/v1/agents", tags=["agents"], responses=API_ERRORS)


@router.get("", summary="The agents and pipelines this server runs")
async def list_agents(request: Request, user: PrincipalDep) -> list[AgentOut]:
    """Each may be named as the `agent` of a run, a chat, a schedule or a trigger."""
    return agents_out(app_state(request).agents)


def agents_out(registry: AgentRegistry) -> list[AgentOut]:
    """The agents and pipelines, by name (the console's agents page shows the same)."""
    agents = [
        AgentOut(name=a.spec.name, description=a.spec.description, model=a.model.name, tools=a.spec.tool_names())
        for a in registry.all()
    ]
    pipelines = [
        AgentOut(
            name=p.name,
            description=p.description,
            kind="pipeline",
            model=None,
            stages=[
                [PipelineStepOut(name=s.name, agent=s.agent, optional=s.optional) for s in stage] for stage in p.stages
            ],
        )
        for p in registry.pipelines()
    ]
    return sorted([*agents, *pipelines], key=lambda out: out.name)
