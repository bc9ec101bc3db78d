"""The approvals inbox: every tool call waiting for a person, oldest first, as `GET /v1/approvals` lists them
(members their own runs', admins everyone's), each with its arguments, whose run it is and the conversation that
led to it; decided in one click as `POST /v1/runs/{id}/approvals` decides (the `runs:write` scope; recorded with
who decided)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from switchboard.auth.dependencies import require_runs_writer
from switchboard.console.dependencies import ConsoleUserDep
from switchboard.console.rendering import templates
from switchboard.console.routing import ConsoleRoute, is_htmx, parsed
from switchboard.models import Run, RunStep, ThreadMessage
from switchboard.runs.repository import RunRepository
from switchboard.runs.schemas import ApprovalDecision
from switchboard.runs.service import RunService
from switchboard.state import app_state

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

PAGE_SIZE = 50
CONVERSATION_MESSAGES = 6
RUN_CHANGED = "run-changed"  # the htmx event a decision triggers (a run page reloads its body on it)


@dataclass(frozen=True)
class PendingCall:
    step: RunStep
    run: Run
    owner: str
    conversation: list[ThreadMessage]


@router.get("/approvals")
async def approvals_page(request: Request, user: ConsoleUserDep) -> Response:
    cursor = request.query_params.get("cursor") or None
    state = app_state(request)
    async with state.db.unit_of_work() as session:
        service = RunService(session, state.agents, state.settings)
        pending, next_cursor = await service.approval_queue(user, PAGE_SIZE, cursor)
        emails = await service.runs.user_emails([run.user_id for _, run in pending])
        threads = await service.runs.recent_messages(list({run.thread_id for _, run in pending}), CONVERSATION_MESSAGES)
    calls = [
        PendingCall(
            step=step,
            run=run,
            owner=emails.get(run.user_id, f"user {run.user_id}"),
            conversation=[m for m in threads.get(run.thread_id, []) if m.text],
        )
        for step, run in pending
    ]
    context = {"calls": calls, "cursor": cursor, "next_cursor": next_cursor}
    return templates.TemplateResponse(request, "approvals.html", context)


@router.get("/approvals/waiting")
async def approvals_waiting(request: Request, user: ConsoleUserDep) -> Response:
    """The menu's count of calls waiting for a decision (yours; everyone's for an admin), refreshed by htmx."""
    async with app_state(request).db.unit_of_work() as session:
        count = await RunRepository(session).approvals_waiting(None if user.is_admin else user.user_id)
    return templates.TemplateResponse(request, "approvals_waiting.html", {"count": count})


@router.post("/approvals/{run_id}")
async def decide(
    run_id: uuid.UUID,
    request: Request,
    user: ConsoleUserDep,
    tool_call_id: Annotated[str, Form()],
    decision: Annotated[Literal["approve", "deny"], Form()],
    reason: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    """One decision, as the API takes it; answers htmx with the line that replaces the call in the page, and a
    plain form (no JavaScript) with a redirect back to the page it was sent from (`back`: the inbox or the run's
    page, nothing else)."""
    await require_runs_writer(user)
    decided = {"tool_call_id": tool_call_id, "approve": decision == "approve", "reason": reason.strip() or None}
    body = parsed(ApprovalDecision, decided)
    state = app_state(request)
    async with state.db.unit_of_work() as session:
        service = RunService(session, state.agents, state.settings)
        run = await service.decide(user, run_id, body)
        status = run.status
    if not is_htmx(request):
        page = back if back == f"/console/runs/{run_id}" else "/console/approvals"
        return RedirectResponse(page, status_code=303)
    context = {"decision": body, "run_id": run_id, "status": status}
    response = templates.TemplateResponse(request, "approvals_decided.html", context)
    response.headers["HX-Trigger"] = RUN_CHANGED
    return response
