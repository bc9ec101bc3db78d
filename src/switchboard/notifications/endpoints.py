"""Webhook endpoints and the delivery log: `/v1/webhooks`, `/v1/deliveries`, `/v1/runs/{id}/deliveries`."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from switchboard.auth.dependencies import PrincipalDep, SessionDep
from switchboard.kit.errors import API_ERRORS, ErrorResponse
from switchboard.kit.pagination import CursorParam, LimitParam
from switchboard.notifications.schemas import (
    DeliveryOut,
    DeliveryPage,
    WebhookCreate,
    WebhookOut,
    WebhookPage,
    WebhookUpdate,
    WebhookWithSecret,
)
from switchboard.notifications.service import WebhookService
from switchboard.state import app_state

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse}}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorResponse, "description": "Invalid input; a refused URL says why."}
}
router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses={**API_ERRORS, **NOT_FOUND})
deliveries_router = APIRouter(tags=["webhooks"], responses={**API_ERRORS, **NOT_FOUND})

EVENTS_DOC = """Each event is POSTed as JSON `{type, timestamp, data}`: `data` is the run as `GET /v1/runs/{id}`
shows it, with its `url` (an output past 64 KiB is cut, `output_truncated: true`). Types: `run.succeeded`,
`run.failed`, `run.cancelled`, `run.timed_out`, `run.requires_action`. Signed as Standard Webhooks
(`webhook-id`, `webhook-timestamp`, `webhook-signature`); the same `webhook-id` on every attempt, so deduplicate on
it. Only a 2xx answer is success (redirects are not followed); failures are retried after 5 s, 5 min, 30 min,
2 h, 5 h, 10 h, 14 h, 20 h and 24 h (with jitter, `Retry-After` honoured); 410 disables the endpoint, and so do
5 days of failing every delivery (its `disabled_reason` says so)."""


def _service(request: Request, session: SessionDep) -> WebhookService:
    return WebhookService(session, app_state(request).settings)


@router.post("", status_code=201, summary="Register a webhook endpoint", description=EVENTS_DOC, responses=INVALID)
async def create_webhook(
    body: WebhookCreate, request: Request, user: PrincipalDep, session: SessionDep
) -> WebhookWithSecret:
    endpoint, secret = await _service(request, session).create(user, body)
    return WebhookWithSecret.model_validate({**WebhookOut.model_validate(endpoint).model_dump(), "secret": secret})


@router.get("", summary="List your webhook endpoints, newest first")
async def list_webhooks(
    request: Request, user: PrincipalDep, session: SessionDep, limit: LimitParam = 20, cursor: CursorParam = None
) -> WebhookPage:
    endpoints, next_cursor = await _service(request, session).page(user, limit, cursor)
    return WebhookPage(items=[WebhookOut.model_validate(e) for e in endpoints], next_cursor=next_cursor)


@router.get("/{endpoint_id}", summary="Get a webhook endpoint (and whether the server disabled it, and why)")
async def get_webhook(endpoint_id: uuid.UUID, request: Request, user: PrincipalDep, session: SessionDep) -> WebhookOut:
    return WebhookOut.model_validate(await _service(request, session).get(user, endpoint_id))


@router.patch("/{endpoint_id}", summary="Change a webhook endpoint", responses=INVALID)
async def update_webhook(
    endpoint_id: uuid.UUID, body: WebhookUpdate, request: Request, user: PrincipalDep, session: SessionDep
) -> WebhookOut:
    return WebhookOut.model_validate(await _service(request, session).update(user, endpoint_id, body))


@router.delete("/{endpoint_id}", status_code=204, summary="Remove a webhook endpoint and its delivery log")
async def delete_webhook(endpoint_id: uuid.UUID, request: Request, user: PrincipalDep, session: SessionDep) -> Response:
    await _service(request, session).delete(user, endpoint_id)
    return Response(status_code=204)


@router.post(
    "/{endpoint_id}/rotate-secret",
    summary="Make a new signing secret (the old one signs too for 24 h)",
    description="Deliveries carry both signatures, space-separated, until `previous_secret_expires_at`: switch "
    "the receiver to the new secret meanwhile.",
)
async def rotate_webhook_secret(
    endpoint_id: uuid.UUID, request: Request, user: PrincipalDep, session: SessionDep
) -> WebhookWithSecret:
    endpoint, secret = await _service(request, session).rotate(user, endpoint_id)
    return WebhookWithSecret.model_validate({**WebhookOut.model_validate(endpoint).model_dump(), "secret": secret})


@router.get("/{endpoint_id}/deliveries", summary="An endpoint's deliveries, newest first, with every attempt")
async def list_endpoint_deliveries(
    endpoint_id: uuid.UUID,
    request: Request,
    user: PrincipalDep,
    session: SessionDep,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
) -> DeliveryPage:
    items, next_cursor = await _service(request, session).deliveries_of_endpoint(user, endpoint_id, limit, cursor)
    return DeliveryPage(items=items, next_cursor=next_cursor)


@deliveries_router.get("/v1/runs/{run_id}/deliveries", summary="A run's notifications, newest first", tags=["runs"])
async def list_run_deliveries(
    run_id: uuid.UUID,
    request: Request,
    user: PrincipalDep,
    session: SessionDep,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
) -> DeliveryPage:
    items, next_cursor = await _service(request, session).deliveries_of_run(user, run_id, limit, cursor)
    return DeliveryPage(items=items, next_cursor=next_cursor)


@deliveries_router.get("/v1/deliveries/{delivery_id}", summary="A delivery, with every attempt")
async def get_delivery(
    delivery_id: uuid.UUID, request: Request, user: PrincipalDep, session: SessionDep
) -> DeliveryOut:
    service = _service(request, session)
    return (await service.outs([await service.delivery(user, delivery_id)]))[0]


@deliveries_router.post(
    "/v1/deliveries/{delivery_id}/retry",
    status_code=202,
    summary="Attempt a failed or dead delivery again, now",
    responses={409: {"model": ErrorResponse, "description": "Not failed or dead, or its endpoint is disabled."}},
)
async def retry_delivery(
    delivery_id: uuid.UUID, request: Request, user: PrincipalDep, session: SessionDep
) -> DeliveryOut:
    service = _service(request, session)
    return (await service.outs([await service.retry(user, delivery_id)]))[0]
