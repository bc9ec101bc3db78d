"""Per-agent concurrency limits, as the queue and the create path see them: groups of agents sharing a limit."""

from __future__ import annotations

from switchboard.agents.registry import AgentRegistry
from switchboard.runs.queue import LimitGroup


def limit_groups(agents: AgentRegistry) -> tuple[list[str], list[LimitGroup]]:
    """Split the known agents into those without a limit and the limit groups (agents sharing a group)."""
    free: list[str] = []
    groups: dict[str, LimitGroup] = {}
    for registered in agents.all():
        spec = registered.spec
        if spec.concurrency is None:
            free.append(spec.name)
            continue
        key = spec.concurrency.group or spec.name
        known = groups.get(key)
        max_runs = min(spec.concurrency.max_runs, known.max_runs) if known else spec.concurrency.max_runs
        members = (*known.agents, spec.name) if known else (spec.name,)
        groups[key] = LimitGroup(key=key, max_runs=max_runs, agents=members)
    return free, list(groups.values())


def group_of(agents: AgentRegistry, agent: str) -> LimitGroup | None:
    """The limit group an agent belongs to, if it has a limit."""
    for group in limit_groups(agents)[1]:
        if agent in group.agents:
            return group
    return None
