"""Request and response shapes of seed 002's conversations API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool

from switchboard.agents.schemas import AgentName
from switchboard.chat.schemas import Usage
from switchboard.kit.pagination import Page
from switchboard.models.runs import RunStatus
from switchboard.platform_api.patterns import PatternType
from switchboard.runs.schemas import PendingApproval
from switchboard.threads.schemas import CONTEXT_DESCRIPTION, ThreadContext

CONTEXT_DOC = f"{CONTEXT_DESCRIPTION} `{{}}`: none."


class ConversationCreate(BaseModel):
    pattern_type: PatternType = Field(
        examples=["chatbot"],
        description="The interaction pattern. It chooses the default agent: `research` → `researcher`, every "
        "other pattern → `assistant`.",
    )
    context_data: ThreadContext = Field(default_factory=dict, description=CONTEXT_DOC)
    agent: AgentName | None = Field(
        default=None, description="Answer with this agent (or pipeline) instead of the default."
    )
    title: str | None = Field(default=None, max_length=200)


class ConversationOut(BaseModel):
    id: uuid.UUID
    pattern_type: PatternType
    agent: str = Field(description="The agent that answers in this conversation.")
    status: Literal["active"] = Field(default="active", description="Conversations stay open until deleted.")
    title: str | None
    context_data: dict[str, Any] = Field(description=CONTEXT_DOC)
    message_count: int = Field(description="Turns taken so far (each message sent is one).")
    created_at: datetime
    updated_at: datetime


class MessageCreate(BaseModel):
    message: str = Field(min_length=1, examples=["What is the capital of France?"])
    stream: StrictBool = Field(
        default=False,
        description="false: answer with the reply as JSON once done. true: stream it as server-sent events "
        "(`thread`, `text_delta`…, then `done` with the same body as the JSON answer, or `error`).",
    )
    context_data: ThreadContext | None = Field(
        default=None,
        description="Replaces the conversation's application context before this turn (sidekick); `{}` or null "
        "clears it; left out, it is kept.",
    )


class ContinueRequest(BaseModel):
    message: str | None = Field(
        default=None,
        min_length=1,
        description="A follow-up message. Omitted: the last turn is followed if it is still being answered, "
        "else the agent is asked to continue where it left off.",
    )
    stream: StrictBool = False


class MessageReply(BaseModel):
    conversation_id: uuid.UUID
    run_id: uuid.UUID = Field(description="The run that answered (GET /v1/runs/{id} for its steps and events).")
    role: Literal["assistant"] = "assistant"
    content: str = Field(description="The agent's reply.")
    status: Literal[RunStatus.SUCCEEDED, RunStatus.REQUIRES_ACTION] = Field(
        description="`requires_action`: a tool call waits for approval (see `pending_approvals`)."
    )
    model: str = Field(description="The model that answered. `offline` is deterministic rules, not an LLM.")
    usage: Usage
    pending_approvals: list[PendingApproval] = Field(default_factory=list)
    request_id: str | None = None


class ConversationMessage(BaseModel):
    id: int = Field(description="Position in the conversation, from 1.")
    conversation_id: uuid.UUID
    role: Literal["user", "assistant", "tool"]
    content: str | None = Field(description="The user's message or the assistant's reply; null for tool results.")
    model: str | None = Field(description="The model of an assistant message (`offline`: rules, not an LLM).")
    created_at: datetime


class ConversationMessagePage(Page[ConversationMessage]):
    pass
