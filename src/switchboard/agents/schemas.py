"""Response shapes of the agents API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

# OpenAPI lists this server's agents as the values of a field so marked (see kit/openapi.py): a name that
# is not one of them is an invalid request (422), and clients see which are.
AGENT_NAME_MARK = "x-switchboard-agent-name"

AgentName = Annotated[str, Field(min_length=1, max_length=100, json_schema_extra={AGENT_NAME_MARK: True})]


class PipelineStepOut(BaseModel):
    name: str
    agent: str
    optional: bool = Field(description="A failure of an optional step leaves its output out of the pipeline's.")


class AgentOut(BaseModel):
    name: str
    description: str
    kind: Literal["agent", "pipeline"] = Field(
        default="agent",
        description="`pipeline`: a run of it runs its `stages` one after another, the steps of a stage at once, each "
        "as a child run (`GET /v1/runs/{id}/children`).",
    )
    model: str | None = Field(
        description="The model this agent uses. `offline` is deterministic rules, not an LLM. None for a pipeline."
    )
    tools: list[str] = Field(default_factory=list)
    stages: list[list[PipelineStepOut]] | None = Field(default=None, description="A pipeline's steps, by stage.")
