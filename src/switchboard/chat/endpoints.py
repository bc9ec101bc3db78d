from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from pydantic_core import to_jsonable_python
from sse_starlette import EventSourceResponse

from switchboard.chat.schemas import ChatRequest, ChatResponse
from switchboard.chat.service import ChatEvent, NewContext, chat_stream, chat_turn, start_turn
from switchboard.kit.errors import API_ERRORS
from switchboard.kit.request_context import current_request_id
from switchboard.limits.guard import RunCreatorDep
from switchboard.runs.schemas import RunCreate
from switchboard.runs.waiting import interruptions
from switchboard.state import app_state

router = APIRouter(prefix="/v1", tags=["chat"], responses=API_ERRORS)

KEEPALIVE_SECONDS = 10

# What starting a turn can answer (the body's own statuses, 400/408/413/422, are documented for every route).
START_ERRORS: dict[int | str, dict[str, object]] = {
    404: {"description": "`not_found`: no thread `thread_id` of yours."},
    413: {"description": "`payload_too_large`: the message or the `context` is too large."},
    409: {"description": "`conflict`: the thread is busy with another run."},
    429: {
        "description": "`budget_exceeded`: a daily cost budget is spent (the message says which, and when it resets; "
        "`Retry-After` too), or the turn's run was stopped by one between model requests; `rate_limited`: a rate "
        "limit."
    },
}
# And what waiting for its answer can: a chat turn is a run, waited for.
TURN_ERRORS: dict[int | str, dict[str, object]] = {
    **START_ERRORS,
    409: {
        "description": "`conflict`: a run of the thread waits for approval (the message says which calls, and "
        "where to decide), the thread is busy with another run, or the run was cancelled."
    },
    502: {"description": "The model (`model_error`) or the run (`run_failed`) failed."},
    503: {
        "description": "`unavailable`: no worker finished the run within SWITCHBOARD_RUN_WAIT_SECONDS, the server is "
        "shutting down (`Location` is the run, which goes on), or the database is unavailable."
    },
    504: {"description": "`run_timed_out`: the run hit its time limit."},
}


@router.post("/chat", summary="Send a message and get the agent's reply", responses=TURN_ERRORS)
async def chat(body: ChatRequest, request: Request, user: RunCreatorDep) -> ChatResponse:
    """One turn, as a run (see /v1/runs): creates a thread when `thread_id` is omitted, runs the agent with the
    thread's history, answers with its reply. A failed model call is a 502; the run stays recorded as failed
    and its prompt is left out of the thread's later history."""
    state = app_state(request)
    async with interruptions(state, request) as interrupted:
        return await chat_turn(
            state,
            user,
            body.agent,
            body.message,
            thread_id=body.thread_id,
            notify=body.notify,
            context=_new_context(body),
            request_id=current_request_id(),
            interrupted=interrupted,
        )


def _new_context(body: ChatRequest) -> NewContext | None:
    return NewContext(body.context) if "context" in body.model_fields_set else None


def _sse(event: ChatEvent) -> dict[str, str]:
    return {"event": event.event, "data": json.dumps(to_jsonable_python(event.data, fallback=str))}


@router.post(
    "/chat/stream",
    summary="Send a message and stream the reply (server-sent events)",
    response_class=EventSourceResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "Events: `thread` (first; with the `run_id`), `text_delta`, `tool_call`, `tool_result`, "
            "`retry` (a model request failed and is made again: drop the last `void_chars` characters of text, "
            "everything since the last `tool_result`; it streams anew), "
            "then `done` (the same body as POST /v1/chat) or `error` (`{error: {type, message, request_id}}`). "
            "For resumable, numbered events use POST /v1/runs/stream.",
        },
        **START_ERRORS,
    },
)
async def chat_stream_endpoint(body: ChatRequest, request: Request, user: RunCreatorDep) -> EventSourceResponse:
    """The same turn as POST /v1/chat, streamed. Validation errors are ordinary 4xx responses."""
    state = app_state(request)
    request_id = current_request_id()
    started = await start_turn(
        state,
        user,
        RunCreate(agent=body.agent, message=body.message, thread_id=body.thread_id, notify=body.notify),
        route="chat/stream",
        context=_new_context(body),
        request_id=request_id,
    )

    async def events() -> AsyncIterator[dict[str, str]]:
        async for event in chat_stream(state, started.run, request_id):
            yield _sse(event)

    return EventSourceResponse(events(), ping=KEEPALIVE_SECONDS)
