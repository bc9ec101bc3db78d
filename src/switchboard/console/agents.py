"""The agents page: what each agent and pipeline is, runs on, may do and is limited to."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, Request, Response

from switchboard.agents.registry import AgentRegistry
from switchboard.console.dependencies import ConsoleUserDep
from switchboard.console.rendering import templates
from switchboard.console.routing import ConsoleRoute
from switchboard.state import app_state

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


@dataclass(frozen=True)
class AgentCard:
    name: str
    description: str
    kind: str  # "agent" or "pipeline"
    model: str | None
    offline: bool
    tools: list[str] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)
    stages: list[list[str]] = field(default_factory=list)


def agent_cards(registry: AgentRegistry, max_prompt_chars: int) -> list[AgentCard]:
    cards: list[AgentCard] = []
    for registered in registry.all():
        spec = registered.spec
        limits = [f"input up to {spec.max_input_chars or max_prompt_chars:,} characters"]
        if spec.concurrency is not None:
            busy = "queued" if spec.concurrency.on_busy == "queue" else "refused"
            limits.append(f"{spec.concurrency.max_runs} run(s) at once (more are {busy})")
        if spec.history.max_messages is not None:
            limits.append(f"sends the last {spec.history.max_messages} messages of a thread")
        cards.append(
            AgentCard(
                name=spec.name,
                description=spec.description,
                kind="agent",
                model=registered.model.name,
                offline=registered.model.is_offline,
                tools=spec.tool_names(),
                limits=limits,
            )
        )
    for pipeline in registry.pipelines():
        stages = [
            [f"{s.name} ({s.agent}{', optional' if s.optional else ''})" for s in stage] for stage in pipeline.stages
        ]
        cards.append(
            AgentCard(
                name=pipeline.name,
                description=pipeline.description,
                kind="pipeline",
                model=None,
                offline=False,
                stages=stages,
            )
        )
    return sorted(cards, key=lambda card: (card.kind, card.name))


@router.get("/agents")
async def agents_page(request: Request, user: ConsoleUserDep) -> Response:
    state = app_state(request)
    cards = agent_cards(state.agents, state.settings.max_prompt_chars)
    return templates.TemplateResponse(request, "agents.html", {"agents": cards})
