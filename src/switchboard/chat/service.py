"""Chat is a door onto runs: a turn is a run created on the thread and waited for (or streamed). There is one
execution path for everything; this module only translates a run into chat's response shape and errors."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from switchboard.auth.principal import Principal
from switchboard.chat.schemas import ChatResponse, Usage
from switchboard.kit.errors import AppError, Conflict, ModelFailed, RunFailed, RunTimedOut, ServiceUnavailable
from switchboard.models.runs import RunStatus
from switchboard.notifications.targets import NotifyTarget
from switchboard.runs.schemas import RunCreate, RunOut
from switchboard.runs.starting import events_of, start_run, wait_for
from switchboard.state import AppState


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
            pending_approvals=run.pending_approvals,
            request_id=request_id,
        )
    if run.status == RunStatus.FAILED and run.error is not None:
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


async def chat_turn(
    state: AppState,
    user: Principal,
    agent: str,
    message: str,
    *,
    thread_id: uuid.UUID | None = None,
    thread_key: str | None = None,
    notify: list[NotifyTarget] | None = None,
    request_id: str | None = None,
    interrupted: asyncio.Event | None = None,
) -> ChatResponse:
    """A turn: the run created and waited for (until `interrupted`: the client left or the server is stopping)."""
    started = await start_run(
        state,
        user,
        RunCreate(agent=agent, message=message, thread_id=thread_id, notify=notify),
        route="chat",
        here=True,
        stream_tokens=False,
        request_id=request_id,
        thread_key=thread_key,
        refuse_behind_approval=True,
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
