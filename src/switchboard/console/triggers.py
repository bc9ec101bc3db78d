"""The triggers page: the user's triggers (ingest URLs whose signed events start runs), a create form, the ingest
URL and signing secret shown once after creating or rotating, pause/resume, and each trigger's events."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse

from switchboard.auth.dependencies import SessionDep, require_runs_writer
from switchboard.auth.scopes import Scope
from switchboard.console.automation_common import PAGE_SIZE, fragment, notice
from switchboard.console.dependencies import ConsoleUserDep
from switchboard.console.rendering import templates
from switchboard.console.routing import ConsoleRoute, parsed
from switchboard.state import app_state
from switchboard.triggers.schemas import TriggerCreate, TriggerOut, TriggerUpdate
from switchboard.triggers.service import TriggerService

router = APIRouter(route_class=ConsoleRoute)


def _service(request: Request, session: SessionDep) -> TriggerService:
    state = app_state(request)
    return TriggerService(session, state.agents, state.settings)


def _secret_panel(request: Request, trigger: TriggerOut, secret: str, rotated: bool) -> str:
    return fragment(request, "triggers_secret.html", {"t": trigger, "secret": secret, "rotated": rotated})


@router.get("/triggers")
async def triggers_page(
    request: Request, user: ConsoleUserDep, session: SessionDep, cursor: Annotated[str | None, Query()] = None
) -> Response:
    service = _service(request, session)
    shown, next_cursor = await service.page(user, PAGE_SIZE, cursor)
    context = {
        "triggers": [service.out(s) for s in shown],
        "next_cursor": next_cursor,
        "agents": app_state(request).agents.names(),
        "may_write": user.may(Scope.RUNS_WRITE),
    }
    return templates.TemplateResponse(request, "triggers.html", context)


@router.post("/triggers")
async def create_trigger(
    request: Request,
    user: ConsoleUserDep,
    session: SessionDep,
    name: Annotated[str, Form()],
    agent: Annotated[str, Form()],
    instructions: Annotated[str, Form()],
    signature: Annotated[str, Form()] = "standard",
) -> Response:
    """Answers with the secret panel (the secret's only showing) and the new row, out of band."""
    await require_runs_writer(user)
    service = _service(request, session)
    body = parsed(TriggerCreate, {"name": name, "agent": agent, "instructions": instructions, "signature": signature})
    shown, secret = await service.create(user, body)
    out = service.out(shown)
    row = fragment(request, "triggers_row.html", {"t": out})
    oob_row = f'<template><tbody hx-swap-oob="afterbegin:#trigger-rows">{row}</tbody></template>'
    return HTMLResponse(_secret_panel(request, out, secret, rotated=False) + oob_row)


@router.post("/triggers/{trigger_id}/rotate-secret")
async def rotate_secret(trigger_id: uuid.UUID, request: Request, user: ConsoleUserDep, session: SessionDep) -> Response:
    service = _service(request, session)
    shown, secret = await service.rotate_secret(user, trigger_id)
    return HTMLResponse(_secret_panel(request, service.out(shown), secret, rotated=True))


async def _set_enabled(
    request: Request, user: ConsoleUserDep, session: SessionDep, trigger_id: uuid.UUID, enabled: bool
) -> Response:
    await require_runs_writer(user)  # as the API's PATCH: the trigger then acts with this key
    service = _service(request, session)
    out = service.out(await service.update(user, trigger_id, TriggerUpdate(enabled=enabled)))
    extra = notice(request, f"Trigger {out.name!r} {'resumed' if enabled else 'paused'}.")
    return HTMLResponse(fragment(request, "triggers_row.html", {"t": out}) + extra)


@router.post("/triggers/{trigger_id}/pause")
async def pause_trigger(trigger_id: uuid.UUID, request: Request, user: ConsoleUserDep, session: SessionDep) -> Response:
    return await _set_enabled(request, user, session, trigger_id, False)


@router.post("/triggers/{trigger_id}/resume")
async def resume_trigger(
    trigger_id: uuid.UUID, request: Request, user: ConsoleUserDep, session: SessionDep
) -> Response:
    return await _set_enabled(request, user, session, trigger_id, True)


@router.get("/triggers/{trigger_id}")
async def trigger_page(trigger_id: uuid.UUID, request: Request, user: ConsoleUserDep, session: SessionDep) -> Response:
    service = _service(request, session)
    out = service.out(await service.get(user, trigger_id))
    events, _ = await service.events(user, trigger_id, 20, None)
    return templates.TemplateResponse(request, "triggers_detail.html", {"t": out, "events": events})


@router.get("/triggers/{trigger_id}/events")
async def trigger_events(
    trigger_id: uuid.UUID, request: Request, user: ConsoleUserDep, session: SessionDep
) -> Response:
    """The trigger's latest events and their runs (the detail page polls this)."""
    events, _ = await _service(request, session).events(user, trigger_id, 20, None)
    return templates.TemplateResponse(request, "triggers_events.html", {"events": events, "trigger_id": trigger_id})
