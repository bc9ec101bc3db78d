"""A run's page: what it is (agent, status, user, thread, times, usage, cost, error), its timeline (the steps of
`GET /v1/runs/{id}/steps`), its child runs as a tree, its pending approvals, its notification deliveries, its
live events (the page's script follows `GET /v1/runs/{id}/events`) and Cancel.

Who sees a run: its owner; an admin sees any user's, as an admin may decide any user's approvals (the API's
`/v1/approvals` rule); Cancel, the event stream and deliveries stay the owner's, as in the API."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from switchboard.auth.principal import Principal
from switchboard.console.dependencies import ConsoleUserDep
from switchboard.console.rendering import templates
from switchboard.console.routing import ConsoleRoute
from switchboard.models.runs import FINAL, RunStatus
from switchboard.notifications.schemas import DeliveryOut
from switchboard.notifications.service import WebhookService
from switchboard.runs.schemas import StepOut
from switchboard.runs.service import RunService
from switchboard.state import app_state

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

DELIVERIES_SHOWN = 20


def total_tokens(usage: dict[str, Any] | None) -> int | None:
    """Input plus output tokens of a run's or a step's usage; None when it has none (yet). The one place the
    console adds them up: the runs list, the run page and its timeline all show this."""
    if not usage:
        return None
    return int(usage.get("input_tokens", 0)) + int(usage.get("output_tokens", 0))


async def run_context(request: Request, user: Principal, run_id: uuid.UUID) -> dict[str, Any]:
    """Everything the run's page shows, read in one unit of work (a handful of queries, none per step)."""
    state = app_state(request)
    async with state.db.unit_of_work() as session:
        service = RunService(session, state.agents, state.settings)
        run = await service.get(user, run_id, any_user_if_admin=True)
        out = await service.tree(run)
        steps = [StepOut.model_validate(step) for step in await service.runs.steps(run.id)]
        own = run.user_id == user.user_id
        deliveries: list[DeliveryOut] = []
        if own:
            deliveries, _ = await WebhookService(session, state.settings).deliveries_of_run(
                user, run.id, DELIVERIES_SHOWN, None
            )
        people = {run.user_id, *(s.decided_by for s in steps if s.decided_by is not None)}
        emails = await service.runs.user_emails([p for p in people if p is not None])
    return {
        "run": out,
        "steps": steps,
        "owner": emails.get(run.user_id, f"user {run.user_id}"),
        "emails": emails,
        "own": own,
        "live": run.status not in FINAL,
        "deliveries": deliveries,
        "tokens": total_tokens(out.usage),
        "tokens_of": total_tokens,
        # Another user's unfinished run is looked at again every few seconds, except while it waits for an
        # approval: nothing changes then until a decision, and a reload would wipe a reason being typed.
        "poll": run.status not in FINAL and run.status != RunStatus.REQUIRES_ACTION and not own,
        "may_decide": own or user.is_admin,
    }


@router.get("/runs/{run_id}")
async def run_detail(run_id: uuid.UUID, request: Request, user: ConsoleUserDep) -> Response:
    return templates.TemplateResponse(request, "run.html", await run_context(request, user, run_id))


@router.get("/runs/{run_id}/body")
async def run_body(run_id: uuid.UUID, request: Request, user: ConsoleUserDep) -> Response:
    """The part of the page that changes as the run goes on (reloaded by the page's script and by htmx)."""
    return templates.TemplateResponse(request, "run_body.html", await run_context(request, user, run_id))


@router.post("/runs/{run_id}/cancel")
async def cancel_run(run_id: uuid.UUID, request: Request, user: ConsoleUserDep) -> Response:
    """As `POST /v1/runs/{id}/cancel` (the same service call: the run, then its children)."""
    state = app_state(request)
    await RunService.cancel_with_children(state.db, state.agents, state.settings, user, run_id)
    return templates.TemplateResponse(request, "run_body.html", await run_context(request, user, run_id))
