"""Which agent answers: seed 002's pattern (or task type) names a default agent, which a request may override
with `agent`. Both are checked against the registry, each error naming the field the caller can fix."""

from __future__ import annotations

from enum import StrEnum

from switchboard.agents.registry import AgentRegistry
from switchboard.kit.errors import ValidationFailed
from switchboard.platform_api.assistant import AGENT_NAME as ASSISTANT

RESEARCHER = "researcher"  # brought by the research plugin


class PatternType(StrEnum):
    CHATBOT = "chatbot"
    SIDEKICK = "sidekick"
    DELEGATION = "delegation"
    SCHEDULED = "scheduled"
    TRIGGERED = "triggered"
    RESEARCH = "research"


DEFAULT_AGENTS: dict[str, str] = {pattern.value: ASSISTANT for pattern in PatternType} | {
    PatternType.RESEARCH.value: RESEARCHER
}


def agent_for(agents: AgentRegistry, kind: str, chosen: str | None, *, field: str) -> str:
    """The agent (or pipeline: runs may name either) named in `agent` (unknown: 422 naming `agent`), else the
    default of `kind` (the value of the request's `field`, pattern_type or task_type), which must be installed."""
    if chosen is not None:
        agents.require_runnable(chosen)
        return chosen
    default = DEFAULT_AGENTS[kind]
    if default not in agents:
        message = (
            f"{kind} is answered by the {default!r} agent, which this server does not have (is its plugin "
            "installed?); name another agent with `agent`"
        )
        raise ValidationFailed(f"{field}: {message}", details=[{"field": field, "message": message}])
    return default
