"""Cost inside a run: each response's cost recorded, and the run stopped between model requests when it would
pass a budget (a Pydantic AI capability the run engine adds to every run). (Filled in by the usage work: issue 12.)"""

from __future__ import annotations

from pydantic_ai.capabilities import AbstractCapability
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.agents.spec import AgentDeps
from switchboard.engine.load import LoadedRun
from switchboard.settings import Settings


def cost_gate(engine: AsyncEngine, settings: Settings, loaded: LoadedRun) -> AbstractCapability[AgentDeps] | None:
    """The run's budget gate, or None when no budget applies to it."""
    return None
