"""Tokens per minute inside a run: checked before each model request, charged with the real counts after each
response (a Pydantic AI capability the run engine adds to every run). (Filled in by the limits work: issue 12.)"""

from __future__ import annotations

from pydantic_ai.capabilities import AbstractCapability
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.agents.spec import AgentDeps
from switchboard.engine.load import LoadedRun
from switchboard.settings import Settings


def token_gate(engine: AsyncEngine, settings: Settings, loaded: LoadedRun) -> AbstractCapability[AgentDeps] | None:
    """The run's TPM gate, or None when its user's tier has no TPM limit."""
    return None
