from __future__ import annotations

import uuid

from pydantic import BaseModel, Field


class ChatRequest(BaseModel):
    agent: str = Field(min_length=1, max_length=100, examples=["support"], description="A registered agent's name.")
    message: str = Field(min_length=1, examples=["Show me all my orders"], description="The user's message.")
    thread_id: uuid.UUID | None = Field(default=None, description="Continue this thread; omit to start a new one.")


class Usage(BaseModel):
    requests: int = Field(description="Model requests made in this turn.")
    tool_calls: int
    input_tokens: int
    output_tokens: int


class ChatResponse(BaseModel):
    thread_id: uuid.UUID
    reply: str
    model: str = Field(
        description="The model that answered. `offline` is Switchboard's deterministic rules, not an LLM."
    )
    usage: Usage
    request_id: str | None
