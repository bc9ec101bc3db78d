"""The gates every model request of a run passes: the user's tokens per minute (`limits.run_gate`) and the cost
budgets (`usage.run_gate`), as Pydantic AI capabilities around each model request."""

from __future__ import annotations

from pydantic_ai.capabilities import AbstractCapability
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.agents.spec import AgentDeps
from switchboard.engine.load import LoadedRun
from switchboard.limits.run_gate import token_gate
from switchboard.settings import Settings
from switchboard.usage.run_gate import cost_gate


def run_gates(engine: AsyncEngine, settings: Settings, loaded: LoadedRun) -> list[AbstractCapability[AgentDeps]]:
    gates = (token_gate(engine, settings, loaded), cost_gate(engine, settings, loaded))
    return [gate for gate in gates if gate is not None]
