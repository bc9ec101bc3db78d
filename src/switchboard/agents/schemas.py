"""Response shapes of the agents API."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

# OpenAPI lists this server's agents as the values of a field so marked (see kit/openapi.py): a name that
# is not one of them is an invalid request (422), and clients see which are.
AGENT_NAME_MARK = "x-switchboard-agent-name"

AgentName = Annotated[str, Field(min_length=1, max_length=100, json_schema_extra={AGENT_NAME_MARK: True})]


class AgentOut(BaseModel):
    name: str
    description: str
    model: str = Field(description="The model this agent uses. `offline` is deterministic rules, not an LLM.")
    tools: list[str]
