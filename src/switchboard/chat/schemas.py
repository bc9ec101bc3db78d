from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from switchboard.agents.schemas import AgentName
from switchboard.models.runs import RunStatus
from switchboard.notifications.targets import NOTIFY_FIELD, NotifyTarget
from switchboard.runs.schemas import PendingApproval
from switchboard.threads.schemas import CONTEXT_DESCRIPTION, ThreadContext


class ChatRequest(BaseModel):
    agent: AgentName = Field(examples=["support"], description="A registered agent's name.")
    message: str = Field(min_length=1, examples=["Show me all my orders"], description="The user's message.")
    thread_id: uuid.UUID | None = Field(default=None, description="Continue this thread; omit to start a new one.")
    notify: list[NotifyTarget] | None = NOTIFY_FIELD
    context: ThreadContext | None = Field(
        default=None,
        description=f"{CONTEXT_DESCRIPTION} Given here, it becomes the thread's context before this turn (replacing "
        "the one it had; null clears it); left out, the thread keeps its context.",
    )


class Usage(BaseModel):
    requests: int = Field(default=0, description="Model requests made in this turn.")
    tool_calls: int = 0
    input_tokens: int = Field(default=0, description="Input tokens, cache reads and writes included.")
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    unpriced_requests: int = Field(default=0, description="Responses without a known price (see `cost_usd`).")


class ChatResponse(BaseModel):
    thread_id: uuid.UUID
    run_id: uuid.UUID = Field(description="The run that answered (GET /v1/runs/{id} for its steps and events).")
    status: Literal[RunStatus.SUCCEEDED, RunStatus.REQUIRES_ACTION] = Field(
        description="`requires_action`: a tool call waits for approval (see `pending_approvals`)."
    )
    reply: str
    model: str = Field(
        description="The model that answered. `offline` is Switchboard's deterministic rules, not an LLM."
    )
    usage: Usage
    cost_usd: float | None = Field(
        default=None, description="What this turn's model requests cost in USD; null: no known price (e.g. `offline`)."
    )
    pending_approvals: list[PendingApproval] = Field(default_factory=list)
    request_id: str | None
