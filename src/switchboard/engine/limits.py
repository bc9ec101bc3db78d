"""Per-agent concurrency limits: agents grouped by the limit they share, and the lock that serialises a group.

Both sides take the same lock: the create path (to decide `on_busy="reject"`) and the claim (to count the
group's running runs before taking more), so of several processes exactly one sees the last free slot.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.agents.registry import AgentRegistry
from switchboard.models.base import sql_list
from switchboard.models.runs import RunStatus


@dataclass(frozen=True)
class LimitGroup:
    key: str
    max_runs: int
    agents: tuple[str, ...]

    @property
    def lock_key(self) -> str:
        """The advisory lock's key (hashed by PostgreSQL's hashtext)."""
        return f"switchboard.limit:{self.key}"


_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(:key))")
_COUNT = "SELECT count(*) FROM runs WHERE agent = ANY(CAST(:agents AS text[])) AND status IN {statuses}"
_COUNT_RUNNING = text(_COUNT.format(statuses=sql_list([RunStatus.RUNNING])))
_COUNT_BUSY = text(_COUNT.format(statuses=sql_list([RunStatus.QUEUED, RunStatus.RUNNING])))


def limit_groups(agents: AgentRegistry) -> tuple[list[str], list[LimitGroup]]:
    """Split the known agents into those without a limit and the limit groups (agents sharing a group)."""
    free: list[str] = [pipeline.name for pipeline in agents.pipelines()]  # a pipeline's own run is brief
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


async def lock_group(connection: AsyncConnection, group: LimitGroup) -> None:
    """Hold the group's lock until the transaction ends: the next claimer or creator counts after us."""
    await connection.execute(_LOCK, {"key": group.lock_key})


async def running_in_group(connection: AsyncConnection, group: LimitGroup) -> int:
    """The group's running runs: what a claim may add to (paused and queued runs hold no slot)."""
    return int((await connection.execute(_COUNT_RUNNING, {"agents": list(group.agents)})).scalar_one())


async def busy_in_group(connection: AsyncConnection, group: LimitGroup) -> int:
    """The group's queued and running runs: what `on_busy="reject"` counts when a run is created."""
    return int((await connection.execute(_COUNT_BUSY, {"agents": list(group.agents)})).scalar_one())
