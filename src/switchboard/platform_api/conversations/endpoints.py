"""Seed 002's conversations API: `/conversations…`, behind an API key like every route."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic_core import to_jsonable_python
from sse_starlette import EventSourceResponse

from switchboard.auth.dependencies import PrincipalDep, SessionDep
from switchboard.auth.principal import Principal
from switchboard.chat.endpoints import KEEPALIVE_SECONDS, TURN_ERRORS
from switchboard.chat.service import ChatEvent
from switchboard.kit.errors import API_ERRORS, ErrorResponse
from switchboard.kit.pagination import CursorParam, LimitParam
from switchboard.kit.request_context import current_request_id
from switchboard.limits.guard import RunCreatorDep
from switchboard.models import Thread
from switchboard.platform_api.conversations import service
from switchboard.platform_api.conversations.schemas import (
    ContinueRequest,
    ConversationCreate,
    ConversationMessagePage,
    ConversationOut,
    MessageCreate,
    MessageReply,
)
from switchboard.runs.waiting import interruptions
from switchboard.state import app_state

TAG = "agent platform: conversations"
router = APIRouter(prefix="/conversations", tags=[TAG], responses={**API_ERRORS, 404: {"model": ErrorResponse}})

STREAM_DOC = (
    "With `stream: false` the reply as JSON. With `stream: true` server-sent events: `thread` (first, with the "
    "`run_id`), `text_delta`, `tool_call`, `tool_result`, `retry` (drop the last `void_chars` characters: the "
    "model request is made again), then `done` (the JSON reply's body) or `error` (`{error: {type, message, "
    "request_id}}`)."
)
TURN_RESPONSES: dict[int | str, dict[str, Any]] = {
    **TURN_ERRORS,
    200: {
        "model": MessageReply,
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
        "description": STREAM_DOC,
    },
}


@router.post("", status_code=201, summary="Create a conversation")
async def create_conversation(
    body: ConversationCreate, request: Request, user: PrincipalDep, session: SessionDep
) -> ConversationOut:
    """A conversation is a thread of the agent its pattern names (`research` → `researcher`, every other
    pattern → `assistant`), or of `agent`. `context_data` is its application context (sidekick)."""
    thread = await service.create(app_state(request), session, user, body)
    return service.out(thread)


@router.get("/{conversation_id}", summary="Get one of your conversations")
async def get_conversation(conversation_id: uuid.UUID, user: PrincipalDep, session: SessionDep) -> ConversationOut:
    return service.out(await service.get(session, user, conversation_id))


@router.get("/{conversation_id}/messages", summary="A conversation's messages, oldest first")
async def list_messages(
    conversation_id: uuid.UUID,
    user: PrincipalDep,
    session: SessionDep,
    limit: LimitParam = 100,
    cursor: CursorParam = None,
) -> ConversationMessagePage:
    items, next_cursor = await service.messages(session, user, conversation_id, limit, cursor)
    return ConversationMessagePage(items=items, next_cursor=next_cursor)


@router.post(
    "/{conversation_id}/messages",
    summary="Send a message (the reply as JSON, or streamed)",
    response_model=MessageReply,
    responses=TURN_RESPONSES,
)
async def send_message(
    conversation_id: uuid.UUID, body: MessageCreate, request: Request, user: RunCreatorDep
) -> JSONResponse | EventSourceResponse:
    """One turn, as a run on the conversation's thread (see /v1/runs), with the conversation's history and
    context. A failed model call is a 502; the run stays recorded as failed."""
    state = app_state(request)
    replace = "context_data" in body.model_fields_set
    thread = await service.prepare_turn(state, user, conversation_id, body.context_data, replace_context=replace)
    return await _answer(request, user, thread, body.message, body.stream)


@router.post(
    "/{conversation_id}/continue",
    summary="Continue a conversation",
    response_model=MessageReply,
    responses=TURN_RESPONSES,
)
async def continue_conversation(
    conversation_id: uuid.UUID, body: ContinueRequest, request: Request, user: RunCreatorDep
) -> JSONResponse | EventSourceResponse:
    """Without `message`: if the last turn is still being answered (queued, running, or waiting for an
    approval), follow it and answer with its reply (as a client that lost its connection would); otherwise ask
    the agent to continue where it left off (a turn with the message "Please continue."). With `message`: a
    follow-up turn, as POST /conversations/{id}/messages."""
    state = app_state(request)
    thread = await service.prepare_turn(state, user, conversation_id)
    if body.message is None:
        run = await service.unfinished_run(state, thread)
        if run is not None:
            request_id = current_request_id()
            if body.stream:
                return _sse_response(service.streamed(state, run, request_id))
            async with interruptions(state, request) as interrupted:
                answered = await service.follow(state, run, request_id, interrupted)
            return JSONResponse(answered.model_dump(mode="json"))
    return await _answer(request, user, thread, body.message or service.CONTINUE_PROMPT, body.stream)


async def _answer(
    request: Request, user: Principal, thread: Thread, message: str, stream: bool
) -> JSONResponse | EventSourceResponse:
    state = app_state(request)
    request_id = current_request_id()
    if stream:
        run = await service.start_streamed(state, user, thread, message, request_id)
        return _sse_response(service.streamed(state, run, request_id))
    async with interruptions(state, request) as interrupted:
        answered = await service.turn(state, user, thread, message, request_id, interrupted)
    return JSONResponse(answered.model_dump(mode="json"))


def _sse_response(events: AsyncIterator[ChatEvent]) -> EventSourceResponse:
    async def encoded() -> AsyncIterator[dict[str, str]]:
        async for event in events:
            yield {"event": event.event, "data": json.dumps(to_jsonable_python(event.data, fallback=str))}

    return EventSourceResponse(encoded(), ping=KEEPALIVE_SECONDS)
