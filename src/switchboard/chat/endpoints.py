from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import structlog
from fastapi import APIRouter, Request
from pydantic_core import to_jsonable_python
from sse_starlette import EventSourceResponse

from switchboard.auth.dependencies import PrincipalDep, SessionDep
from switchboard.chat.schemas import ChatRequest, ChatResponse
from switchboard.chat.service import ChatEvent, ChatService
from switchboard.kit.errors import API_ERRORS, AppError, ErrorResponse
from switchboard.kit.request_context import current_request_id
from switchboard.kit.state import app_state

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/v1", tags=["chat"], responses=API_ERRORS)

KEEPALIVE_SECONDS = 15


@router.post(
    "/chat",
    summary="Send a message and get the agent's reply",
    responses={413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 502: {"model": ErrorResponse}},
)
async def chat(body: ChatRequest, request: Request, user: PrincipalDep, session: SessionDep) -> ChatResponse:
    """One turn: creates a thread when `thread_id` is omitted, feeds the thread's history to the agent, stores
    the turn. A model failure is a 502 and changes nothing (not even a new thread)."""
    state = app_state(request)
    service = ChatService(session, state.agents, state.settings)
    turn = await service.prepare(
        user, body.agent, body.message, thread_id=body.thread_id, request_id=current_request_id()
    )
    return await service.run(turn)


def _sse(event: ChatEvent) -> dict[str, str]:
    return {"event": event.event, "data": json.dumps(to_jsonable_python(event.data, fallback=str))}


@router.post(
    "/chat/stream",
    summary="Send a message and stream the reply (server-sent events)",
    response_class=EventSourceResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "Events: `thread` (first), `text_delta`, `tool_call`, `tool_result`, then `done` "
            "(the same body as POST /v1/chat) or `error` (`{error: {type, message, request_id}}`).",
        },
        413: {"model": ErrorResponse},
        422: {"model": ErrorResponse},
    },
)
async def chat_stream(body: ChatRequest, request: Request, user: PrincipalDep) -> EventSourceResponse:
    """The same turn as POST /v1/chat, streamed. Validation errors are ordinary 4xx responses; a model failure
    after the stream started arrives as an `error` event, and the turn is not recorded."""
    state = app_state(request)
    request_id = current_request_id()
    session = state.db.sessions()
    service = ChatService(session, state.agents, state.settings)
    try:
        turn = await service.prepare(user, body.agent, body.message, thread_id=body.thread_id, request_id=request_id)
    except BaseException:
        await session.rollback()
        await session.close()
        raise

    async def events() -> AsyncIterator[dict[str, str]]:
        try:
            async for event in service.stream(turn):
                if event.event == "done":
                    await session.commit()  # commit before telling the client it is done
                yield _sse(event)
        except AppError as exc:
            await session.rollback()
            yield _sse(ChatEvent("error", _error_data(exc.type, exc.message, request_id)))
        except Exception:
            await session.rollback()
            log.exception("chat.stream_failed")
            yield _sse(ChatEvent("error", _error_data("internal_error", "Internal error.", request_id)))
        finally:
            await session.close()

    return EventSourceResponse(events(), ping=KEEPALIVE_SECONDS)


def _error_data(type_: str, message: str, request_id: str | None) -> dict[str, Any]:
    return {"error": {"type": type_, "message": message, "request_id": request_id}}
