from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ToolOut(BaseModel):
    name: str = Field(description="What to call it by: `POST /v1/tools/{name}`.")
    description: str | None
    agents: list[str] = Field(description="The agents that have this tool.")
    args_schema: dict[str, Any] = Field(description="The JSON schema of its `args`.")
    requires_approval: bool = Field(
        description="A person approves each call: such a tool runs only inside a run (POST /v1/runs), never "
        "through the door (409)."
    )
    idempotent: bool = Field(description="Whether calling it twice with the same arguments is harmless.")
    timeout_seconds: float = Field(description="Its time limit; past it the call fails with 504 tool_timeout.")


class ToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    args: dict[str, Any] = Field(default_factory=dict, description="The tool's arguments, as its `args_schema` says.")


class ToolResult(BaseModel):
    tool: str
    result: Any = Field(description="What the tool returned, as JSON.")
    duration_ms: float
