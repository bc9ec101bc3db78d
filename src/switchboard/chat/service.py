"""Chat is a door onto runs: a turn is a run created on the thread and waited for (or streamed). There is one
execution path for everything; this module only translates a run into chat's response shape and errors."""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import structlog

from switchboard.auth.principal import Principal
from switchboard.chat.schemas import ChatResponse, Usage
from switchboard.kit.clock import utc_now
from switchboard.kit.errors import (
    AppError,
    BudgetExceeded,
    Conflict,
    ModelFailed,
    RateLimited,
    RunFailed,
    RunTimedOut,
    ServiceUnavailable,
)
from switchboard.models.runs import RunStatus
from switchboard.notifications.targets import NotifyTarget
from switchboard.runs.schemas import RunCreate, RunOut
from switchboard.runs.starting import Started, events_of, start_run, wait_for
from switchboard.state import AppState
from switchboard.threads.service import ThreadService, check_context_size

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ChatEvent:
    """One server-sent event of a streamed turn."""

    event: str  # thread | text_delta | tool_call | tool_result | retry | done | error
    data: dict[str, Any]


def reply_text(output: object) -> str:
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    return json.dumps(output, default=str)


def chat_response(run: RunOut, request_id: str | None, *, shutting_down: bool = False) -> ChatResponse:
    """The run as a chat reply, or the error that says why there is none."""
    where = f"GET /v1/runs/{run.id}"
    if run.status in (RunStatus.SUCCEEDED, RunStatus.REQUIRES_ACTION):
        pending = ", ".join(f"{p.tool_name} ({p.tool_call_id})" for p in run.pending_approvals)
        succeeded = run.status == RunStatus.SUCCEEDED
        reply = (
            reply_text(run.output)
            if succeeded
            else f"Waiting for approval of: {pending}. Decide with POST /v1/runs/{run.id}/approvals "
            '{"tool_call_id": "…", "approve": true or false}; the run then resumes.'
        )
        return ChatResponse(
            thread_id=run.thread_id,
            run_id=run.id,
            status=run.status,
            reply=reply,
            model=run.model or "",
            usage=Usage.model_validate(run.usage),
            cost_usd=run.cost_usd,
            pending_approvals=run.pending_approvals,
            request_id=request_id,
        )
    if run.status == RunStatus.FAILED and run.error is not None:
        # Stopped between model requests by a budget or its user's tokens per minute: the answer a new turn would
        # get at its start, with when to retry (a run's own max_cost_usd: at once, with a smaller question).
        retry_at = run.error.retry_at
        wait = 1 if retry_at is None else max(1, math.ceil((retry_at - utc_now()).total_seconds()))
        retry_after = {"Retry-After": str(wait)}
        if run.error.type == "budget_exceeded":
            raise BudgetExceeded(f"{run.error.message} The run is recorded as failed ({where}).", headers=retry_after)
        if run.error.type == "rate_limited":
            raise RateLimited(f"{run.error.message} The run is recorded as failed ({where}).", headers=retry_after)
        if run.error.type == "model_error":
            raise ModelFailed(f"{run.error.message} The run is recorded as failed ({where}); try again.")
        raise RunFailed(f"{run.error.message} ({where})")
    if run.status == RunStatus.CANCELLED:
        raise Conflict(f"The run was cancelled before it answered ({where}).")
    if run.status == RunStatus.TIMED_OUT:
        raise RunTimedOut(f"The run hit its time limit before it answered ({where}).")
    if shutting_down:
        raise ServiceUnavailable(
            f"The server is shutting down: your message was accepted as run {run.id}, which is still {run.status} "
            f"and will be answered by another worker; follow it with {where}.",
            headers={"Location": f"/v1/runs/{run.id}", "Retry-After": "2"},
        )
    raise ServiceUnavailable(
        f"The run is still {run.status}: no worker has finished it yet. It will run when one is available; "
        f"follow it with {where} (is a worker running? `switchboard worker`)."
    )


@dataclass(frozen=True)
class NewContext:
    """The application context a chat request gives its thread before the turn (`value` None: clear it)."""

    value: dict[str, Any] | None


async def start_turn(
    state: AppState,
    user: Principal,
    body: RunCreate,
    *,
    route: str,
    context: NewContext | None = None,
    thread_key: str | None = None,
    request_id: str | None = None,
    stream_tokens: bool = True,
) -> Started:
    """Create a turn's run, waited for here; with a `context`, the thread gets it first (a new thread is made
    with it), so the turn sees it. A thread made here for a turn that is then refused is removed again. An existing
    thread keeps the new context even if the turn is refused: it says what the user is looking at, which is true
    either way."""
    created: uuid.UUID | None = None
    if context is not None:
        thread_id, made = await _give_context(state, user, body, thread_key, context.value)
        body = body.model_copy(update={"thread_id": thread_id})
        created = thread_id if made else None
    try:
        return await start_run(
            state,
            user,
            body,
            route=route,
            here=True,
            stream_tokens=stream_tokens,
            request_id=request_id,
            thread_key=thread_key if body.thread_id is None else None,
            refuse_behind_approval=True,
        )
    except AppError:
        if created is not None:
            await _remove_thread(state, user, created)
        raise


async def _give_context(
    state: AppState, user: Principal, body: RunCreate, thread_key: str | None, value: dict[str, Any] | None
) -> tuple[uuid.UUID, bool]:
    """Set the context on the turn's thread (made now when the turn starts one); returns the thread's id and
    whether it was made. Checked as the turn itself would be first: the agent, the thread (yours, this agent's)."""
    state.agents.require_runnable(body.agent)
    check_context_size(value, state.settings.thread_context_max_bytes)
    async with state.db.unit_of_work() as session:
        threads = ThreadService(session)
        if body.thread_id is not None:
            thread = await threads.of_agent(user, body.thread_id, body.agent, field="thread_id", for_update=True)
        elif thread_key is not None:
            thread = await threads.keyed_for_update(user, body.agent, thread_key)
        else:
            return (await threads.create(user, body.agent, context=value)).id, True
        await threads.set_context(thread, value)
        return thread.id, False


async def _remove_thread(state: AppState, user: Principal, thread_id: uuid.UUID) -> None:
    try:
        async with state.db.unit_of_work() as session:
            await ThreadService(session).delete(user, thread_id)
    except Exception:  # the refusal is what the client must hear; an empty thread left behind is harmless
        log.warning("chat.thread_not_removed", thread_id=str(thread_id), exc_info=True)


async def chat_turn(
    state: AppState,
    user: Principal,
    agent: str,
    message: str,
    *,
    thread_id: uuid.UUID | None = None,
    thread_key: str | None = None,
    notify: list[NotifyTarget] | None = None,
    context: NewContext | None = None,
    request_id: str | None = None,
    interrupted: asyncio.Event | None = None,
) -> ChatResponse:
    """A turn: the run created and waited for (until `interrupted`: the client left or the server is stopping)."""
    started = await start_turn(
        state,
        user,
        RunCreate(agent=agent, message=message, thread_id=thread_id, notify=notify),
        route="chat",
        context=context,
        stream_tokens=False,
        request_id=request_id,
        thread_key=thread_key,
    )
    run = await wait_for(state, started.run.id, interrupted, started.settled_here)
    return chat_response(run, request_id, shutting_down=state.draining.is_set())


async def chat_stream(state: AppState, run: RunOut, request_id: str | None) -> AsyncIterator[ChatEvent]:
    """The run's events in chat's stream vocabulary: `thread`, text and tool events, then `done` or `error`."""
    yield ChatEvent(
        "thread", {"thread_id": str(run.thread_id), "run_id": str(run.id), "agent": run.agent, "model": run.model}
    )
    async for event in events_of(state, run.id):
        if event.type in ("text_delta", "tool_call", "tool_result", "retry"):
            yield ChatEvent(event.type, event.data)
        elif event.type in ("end", "approval_required"):
            break
    try:
        # The events end early only when the server is shutting down: then answer at once, with where to look.
        settled = await wait_for(state, run.id, state.draining)
        response = chat_response(settled, request_id, shutting_down=state.draining.is_set())
    except AppError as exc:
        yield ChatEvent("error", {"error": {"type": exc.type, "message": exc.message, "request_id": request_id}})
        return
    yield ChatEvent("done", response.model_dump(mode="json"))
