from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from switchboard.agents.schemas import AgentName
from switchboard.kit.pagination import Page
from switchboard.kit.schemas import FromRow, Metadata


class ThreadCreate(BaseModel):
    agent: AgentName = Field(description="Name of a registered agent (see GET /v1/agents).")
    title: str | None = Field(default=None, max_length=200)
    metadata: Metadata = Field(
        default_factory=dict, description="Free-form JSON kept with the thread (at most 16 KiB)."
    )


class ThreadOut(FromRow):
    id: uuid.UUID
    agent: str
    title: str | None
    metadata: dict[str, Any] = Field(validation_alias="metadata_")
    turns: int = Field(description="Runs created on the thread (each chat turn is one).")
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
