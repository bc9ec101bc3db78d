"""Response shapes of the agents API."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AgentOut(BaseModel):
    name: str
    description: str
    model: str = Field(description="The model this agent uses. `offline` is deterministic rules, not an LLM.")
    tools: list[str]
