"""The triggers API (`/v1/triggers`, behind an API key) and the ingest URL (`/v1/hooks/{id}`, behind a signature)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from switchboard.auth.dependencies import PrincipalDep, RunsWriterDep, SessionDep
from switchboard.kit.db import DatabaseUnavailable
from switchboard.kit.errors import API_ERRORS, ErrorResponse, RateLimited, raises
from switchboard.kit.pagination import CursorParam, LimitParam
from switchboard.limits.address import client_address
from switchboard.state import app_state
from switchboard.triggers import ingest
from switchboard.triggers.schemas import (
    EventAccepted,
    TriggerCreate,
    TriggerEventPage,
    TriggerOut,
    TriggerPage,
    TriggerUpdate,
    TriggerWithSecret,
)
from switchboard.triggers.service import HOOKS_PATH, TriggerService

router = APIRouter(prefix="/v1/triggers", tags=["triggers"], responses={**API_ERRORS, 404: {"model": ErrorResponse}})
hooks_router = APIRouter(prefix=HOOKS_PATH, tags=["triggers"])


def _trigger_service(request: Request, session: SessionDep) -> TriggerService:
    state = app_state(request)
    return TriggerService(session, state.agents, state.settings)


TriggerServiceDep = Annotated[TriggerService, Depends(_trigger_service)]


@router.post("", status_code=201, summary="Create a trigger (an ingest URL whose signed events start runs)")
async def create_trigger(body: TriggerCreate, user: RunsWriterDep, service: TriggerServiceDep) -> TriggerWithSecret:
    """The response holds the signing secret, shown this once (see also rotate-secret). The trigger acts with
    the authority of the key used here: if that key is revoked, the ingest URL stops accepting events."""
    shown, secret = await service.create(user, body)
    return service.out_with_secret(shown, secret)


@router.get("", summary="List your triggers, newest first")
async def list_triggers(
    user: PrincipalDep, service: TriggerServiceDep, limit: LimitParam = 20, cursor: CursorParam = None
) -> TriggerPage:
    shown, next_cursor = await service.page(user, limit, cursor)
    return TriggerPage(items=[service.out(s) for s in shown], next_cursor=next_cursor)


@router.get("/{trigger_id}", summary="Get one of your triggers")
async def get_trigger(trigger_id: uuid.UUID, user: PrincipalDep, service: TriggerServiceDep) -> TriggerOut:
    return service.out(await service.get(user, trigger_id))


@router.patch("/{trigger_id}", summary="Change a trigger")
async def update_trigger(
    trigger_id: uuid.UUID, body: TriggerUpdate, user: RunsWriterDep, service: TriggerServiceDep
) -> TriggerOut:
    """Only the fields given change. The trigger then acts with the key used here (a trigger stopped by its key's
    revocation resumes)."""
    return service.out(await service.update(user, trigger_id, body))


@router.delete("/{trigger_id}", status_code=204, summary="Delete a trigger and its event log")
async def delete_trigger(trigger_id: uuid.UUID, user: PrincipalDep, service: TriggerServiceDep) -> Response:
    await service.delete(user, trigger_id)
    return Response(status_code=204)


@router.post("/{trigger_id}/rotate-secret", summary="Make a new signing secret (the previous one works 24 h more)")
async def rotate_trigger_secret(
    trigger_id: uuid.UUID, user: PrincipalDep, service: TriggerServiceDep
) -> TriggerWithSecret:
    """The new secret is in this response only. Events signed with the previous secret are accepted until
    `previous_secret_expires_at`, so senders can switch over without losing any."""
    shown, secret = await service.rotate_secret(user, trigger_id)
    return service.out_with_secret(shown, secret)


@router.get("/{trigger_id}/events", summary="The events a trigger received, newest first, and their runs")
async def list_trigger_events(
    trigger_id: uuid.UUID,
    user: PrincipalDep,
    service: TriggerServiceDep,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
) -> TriggerEventPage:
    events, next_cursor = await service.events(user, trigger_id, limit, cursor)
    return TriggerEventPage(items=events, next_cursor=next_cursor)


HOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": EventAccepted, "description": "This event id was received before: the first delivery's run."},
    202: {"model": EventAccepted, "description": "Accepted: a run was started. `Location` is the run."},
    400: {"model": ErrorResponse, "description": "`bad_request`: the event id header is missing or too long."},
    401: {"model": ErrorResponse, "description": "`authentication_error`: missing or wrong signature, or a "
          "webhook-timestamp more than 5 minutes away. Nothing was stored."},
    404: {"model": ErrorResponse, "description": "`not_found`: no trigger here accepts events."},
    408: {"model": ErrorResponse, "description": "`request_timeout`: the body did not arrive in time."},
    413: {"model": ErrorResponse, "description": "`payload_too_large`: larger than "
          "SWITCHBOARD_TRIGGER_MAX_PAYLOAD_BYTES (256 KiB by default)."},
    422: {"model": ErrorResponse, "description": "`validation_error`: the payload is not text (not UTF-8, or NUL)."},
    429: {"model": ErrorResponse, "description": "`rate_limited`: too many events from your address "
          "(SWITCHBOARD_TRIGGER_INGEST_PER_MINUTE), or the trigger's owner has their most runs at once. Nothing "
          "was stored; retry after `Retry-After` seconds."},
}  # fmt: skip
HOOK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "description": "The event: JSON (passed to the agent verbatim, as data) or text, signed as the trigger says.",
        "content": {"application/json": {"schema": {}}, "text/plain": {"schema": {"type": "string"}}},
    }
}


@hooks_router.post(
    "/{trigger_id}",
    status_code=202,
    summary="Send an event to a trigger (signed; no API key)",
    response_model=EventAccepted,
    responses=HOOK_RESPONSES,
    openapi_extra=HOOK_BODY,
)
@raises(DatabaseUnavailable, RateLimited)
async def receive_event(trigger_id: uuid.UUID, request: Request) -> JSONResponse:
    """The signature is the credential: Standard Webhooks headers, or `X-Hub-Signature-256` for a trigger made
    with `signature: "github"`. The body is read raw and verified before it is parsed. The same event id twice
    starts one run; the repeat answers 200 with that run's id. Each address may send
    SWITCHBOARD_TRIGGER_INGEST_PER_MINUTE events a minute (counted before anything else is done)."""
    state = app_state(request)
    if state.limits.trigger_ingest is not None:  # before the body is read, the trigger looked up or the HMAC made
        await state.limits.trigger_ingest.admit(client_address(request))
    received = await ingest.receive(state, trigger_id, request.headers, await request.body())
    content = EventAccepted(run_id=received.run_id, event_id=received.event_id, duplicate=received.duplicate)
    if received.duplicate:
        return JSONResponse(content.model_dump(mode="json"), status_code=200)
    headers = {"Location": f"/v1/runs/{received.run_id}"}
    return JSONResponse(content.model_dump(mode="json"), status_code=202, headers=headers)
