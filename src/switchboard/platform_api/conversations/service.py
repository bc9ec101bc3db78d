"""Conversations are threads: created with the agent their pattern names and a marker of that pattern in the
thread's metadata; each message is a chat turn (a run on the thread), waited for or streamed by the chat
service. Only threads made here are conversations: another of your threads, or another user's, is not found."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.principal import Principal
from switchboard.chat.schemas import ChatResponse
from switchboard.chat.service import ChatEvent, chat_response, chat_stream, chat_turn
from switchboard.kit.errors import NotFound
from switchboard.models import Thread, ThreadMessage
from switchboard.models.runs import RunStatus
from switchboard.platform_api.conversations import context
from switchboard.platform_api.conversations.schemas import (
    ConversationCreate,
    ConversationMessage,
    ConversationOut,
    MessageReply,
)
from switchboard.platform_api.patterns import PatternType, agent_for
from switchboard.runs.schemas import RunCreate, RunOut
from switchboard.runs.service import RunService
from switchboard.runs.starting import start_run, wait_for
from switchboard.state import AppState
from switchboard.threads.service import ThreadService

PATTERN_KEY = "platform_pattern_type"  # in the thread's metadata: the thread is a conversation of this pattern
CONTINUE_PROMPT = "Please continue."  # a continue without a message


async def create(state: AppState, session: AsyncSession, user: Principal, body: ConversationCreate) -> Thread:
    agent = agent_for(state.agents, body.pattern_type, body.agent, field="pattern_type")
    return await ThreadService(session).create(
        user,
        agent,
        title=body.title,
        metadata={PATTERN_KEY: body.pattern_type.value},
        context=context.stored(state.settings, body.context_data),
    )


async def get(session: AsyncSession, user: Principal, conversation_id: uuid.UUID) -> Thread:
    thread = await ThreadService(session).threads.owned(user.user_id, conversation_id)
    if thread is None or PATTERN_KEY not in thread.metadata_:
        raise NotFound(f"Conversation {conversation_id} not found.")
    return thread


def out(thread: Thread) -> ConversationOut:
    return ConversationOut(
        id=thread.id,
        pattern_type=PatternType(thread.metadata_[PATTERN_KEY]),
        agent=thread.agent,
        title=thread.title,
        context_data=context.of(thread),
        message_count=thread.turns,
        created_at=thread.created_at,
        updated_at=thread.updated_at,
    )


async def messages(
    session: AsyncSession, user: Principal, conversation_id: uuid.UUID, limit: int, cursor: str | None
) -> tuple[list[ConversationMessage], str | None]:
    thread = await get(session, user, conversation_id)
    rows, next_cursor = await ThreadService(session).messages.page(thread.id, limit, cursor)
    return [_message(thread.id, row) for row in rows], next_cursor


def _message(conversation_id: uuid.UUID, row: ThreadMessage) -> ConversationMessage:
    return ConversationMessage(
        id=row.seq,
        conversation_id=conversation_id,
        role=row.role,
        content=row.text,
        model=row.model_name,
        created_at=row.created_at,
    )


def reply(response: ChatResponse) -> MessageReply:
    return MessageReply(
        conversation_id=response.thread_id,
        run_id=response.run_id,
        content=response.reply,
        status=response.status,
        model=response.model,
        usage=response.usage,
        pending_approvals=response.pending_approvals,
        request_id=response.request_id,
    )


# --- turns ---


async def prepare_turn(
    state: AppState,
    user: Principal,
    conversation_id: uuid.UUID,
    new_context: dict[str, Any] | None = None,
    *,
    replace_context: bool = False,
) -> Thread:
    """The conversation (404 if not the caller's), its context replaced first when the message brings one
    (`replace_context`; None or `{}` clears it): committed before the turn's run is created, so the turn sees
    it."""
    async with state.db.unit_of_work() as session:
        thread = await get(session, user, conversation_id)
        if replace_context:
            await context.replace(session, state.settings, thread, new_context)
        return thread


async def turn(
    state: AppState,
    user: Principal,
    thread: Thread,
    message: str,
    request_id: str | None,
    interrupted: asyncio.Event,
) -> MessageReply:
    response = await chat_turn(
        state, user, thread.agent, message, thread_id=thread.id, request_id=request_id, interrupted=interrupted
    )
    return reply(response)


async def start_streamed(
    state: AppState, user: Principal, thread: Thread, message: str, request_id: str | None
) -> RunOut:
    started = await start_run(
        state,
        user,
        RunCreate(agent=thread.agent, message=message, thread_id=thread.id),
        route="conversations/messages",
        here=True,
        request_id=request_id,
        refuse_behind_approval=True,
    )
    return started.run


async def streamed(state: AppState, run: RunOut, request_id: str | None) -> AsyncIterator[ChatEvent]:
    """The chat service's stream, its `done` in this API's reply shape."""
    async for event in chat_stream(state, run, request_id):
        if event.event == "done":
            event = ChatEvent("done", reply(ChatResponse.model_validate(event.data)).model_dump(mode="json"))
        yield event


async def unfinished_run(state: AppState, thread: Thread) -> RunOut | None:
    """The conversation's latest run when it is not finished (queued, running, or waiting for approval)."""
    async with state.db.sessions() as session:
        service = RunService(session, state.agents, state.settings)
        active = await service.runs.active_on_thread(thread.id)
        return await service.out(active[-1]) if active else None


async def follow(state: AppState, run: RunOut, request_id: str | None, interrupted: asyncio.Event) -> MessageReply:
    """An unfinished turn, waited for: its reply (or what it waits for)."""
    if run.status != RunStatus.REQUIRES_ACTION:
        run = await wait_for(state, run.id, interrupted)
    return reply(chat_response(run, request_id, shutting_down=state.draining.is_set()))
