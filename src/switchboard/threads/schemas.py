from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from switchboard.agents.schemas import AgentName
from switchboard.kit.pagination import Page
from switchboard.kit.schemas import FromRow, Metadata, Patch

CONTEXT_MAX_DEPTH = 8


def _shallow(value: dict[str, Any]) -> dict[str, Any]:
    def depth(node: Any) -> int:
        if isinstance(node, dict):
            return 1 + max((depth(child) for child in node.values()), default=0)
        if isinstance(node, list):
            return 1 + max((depth(child) for child in node), default=0)
        return 0

    if (levels := depth(value)) > CONTEXT_MAX_DEPTH:
        raise ValueError(f"is nested {levels} levels deep; the limit is {CONTEXT_MAX_DEPTH}")
    return value


ThreadContext = Annotated[dict[str, Any], AfterValidator(_shallow)]
"""A thread's application context: a JSON object, nested at most `CONTEXT_MAX_DEPTH` levels (its size is bounded
by SWITCHBOARD_THREAD_CONTEXT_MAX_BYTES, checked by the service)."""

CONTEXT_DESCRIPTION = (
    'Application context: what the user is looking at (e.g. `{"page": "order", "order_id": 1}`), a JSON '
    "object nested at most 8 levels, at most SWITCHBOARD_THREAD_CONTEXT_MAX_BYTES as JSON (16 KiB by default). "
    "The agent sees the thread's current context on each turn as data, fenced and labelled, never as instructions; "
    "its tools read it from `ctx.deps.context`. It grants no rights: tools still act only for you."
)


class ThreadCreate(BaseModel):
    agent: AgentName = Field(description="Name of a registered agent (see GET /v1/agents).")
    title: str | None = Field(default=None, max_length=200)
    metadata: Metadata = Field(
        default_factory=dict, description="Free-form JSON kept with the thread (at most 16 KiB)."
    )
    context: ThreadContext | None = Field(default=None, description=CONTEXT_DESCRIPTION)


class ThreadPatch(Patch):
    """Only the fields given change."""

    NULLABLE = frozenset({"context"})

    context: ThreadContext | None = Field(
        default=None, description=f"{CONTEXT_DESCRIPTION} Replaces the current context whole; null clears it."
    )


class ThreadOut(FromRow):
    id: uuid.UUID
    agent: str
    title: str | None
    metadata: dict[str, Any] = Field(validation_alias="metadata_")
    turns: int = Field(description="Runs created on the thread (each chat turn is one).")
    context: dict[str, Any] | None = Field(description="The thread's application context (null: none).")
    created_at: datetime
    updated_at: datetime


class MessageOut(FromRow):
    seq: int = Field(description="Position in the thread, from 1.")
    turn: int = Field(description="The chat turn this message belongs to, from 1.")
    role: Literal["user", "assistant", "tool"]
    text: str | None = Field(description="The user's prompt or the assistant's reply text, when there is one.")
    model: str | None = Field(
        validation_alias="model_name", description="The model that produced an assistant message."
    )
    request_id: str | None
    acted_by_user_id: int | None = Field(
        validation_alias="acting_user_id", description="Set when an admin sent this turn for the thread's owner."
    )
    created_at: datetime
    message: dict[str, Any] = Field(description="The Pydantic AI message as JSON (ModelRequest or ModelResponse).")


class ThreadPage(Page[ThreadOut]):
    pass


class MessagePage(Page[MessageOut]):
    pass
