"""The webhooks page: the user's webhook endpoints, a create form (the signing secret shown once), and each
endpoint's delivery log (status, attempts, the receiver's answers) with Retry for failed deliveries."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse

from switchboard.auth.dependencies import SessionDep
from switchboard.console.automation_common import PAGE_SIZE, fragment, notice
from switchboard.console.dependencies import ConsoleUserDep
from switchboard.console.rendering import templates
from switchboard.console.routing import ConsoleRoute, parsed
from switchboard.models.notifications import DeliveryStatus
from switchboard.notifications.outbox import EVENT_TYPES
from switchboard.notifications.schemas import WebhookCreate, WebhookOut, WebhookUpdate
from switchboard.notifications.service import RETRYABLE, WebhookService
from switchboard.state import app_state

router = APIRouter(route_class=ConsoleRoute)

DELIVERIES_SHOWN = 20


def _service(request: Request, session: SessionDep) -> WebhookService:
    return WebhookService(session, app_state(request).settings)


def _common() -> dict[str, Any]:
    return {"retryable": {str(status) for status in RETRYABLE}, "pending": str(DeliveryStatus.PENDING)}


@router.get("/webhooks")
async def webhooks_page(
    request: Request, user: ConsoleUserDep, session: SessionDep, cursor: Annotated[str | None, Query()] = None
) -> Response:
    endpoints, next_cursor = await _service(request, session).page(user, PAGE_SIZE, cursor)
    context = {
        "endpoints": [WebhookOut.model_validate(e) for e in endpoints],
        "next_cursor": next_cursor,
        "event_types": EVENT_TYPES,
    }
    return templates.TemplateResponse(request, "webhooks.html", context)


@router.post("/webhooks")
async def create_webhook(
    request: Request,
    user: ConsoleUserDep,
    session: SessionDep,
    url: Annotated[str, Form()],
    event_types: Annotated[list[str] | None, Form()] = None,
    description: Annotated[str, Form()] = "",
) -> Response:
    """Answers with the secret panel (the secret's only showing) and the new row, out of band. No event type
    ticked means every event, as the API's omitted `event_types` does."""
    data: dict[str, Any] = {"url": url.strip(), "description": description.strip() or None}
    if event_types:
        data["event_types"] = event_types
    endpoint, secret = await _service(request, session).create(user, parsed(WebhookCreate, data))
    out = WebhookOut.model_validate(endpoint)
    row = fragment(request, "webhooks_row.html", {"e": out})
    oob_row = f'<template><tbody hx-swap-oob="afterbegin:#webhook-rows">{row}</tbody></template>'
    return HTMLResponse(fragment(request, "webhooks_secret.html", {"e": out, "secret": secret}) + oob_row)


async def _set_enabled(
    request: Request, user: ConsoleUserDep, session: SessionDep, endpoint_id: uuid.UUID, on: bool
) -> Response:
    endpoint = await _service(request, session).update(user, endpoint_id, WebhookUpdate(enabled=on))
    out = WebhookOut.model_validate(endpoint)
    extra = notice(request, f"Endpoint {out.url} {'enabled' if on else 'disabled'}.")
    on_detail = f"/console/webhooks/{endpoint_id}" in request.headers.get("HX-Current-URL", "")
    return HTMLResponse(fragment(request, "webhooks_row.html", {"e": out, "on_detail": on_detail}) + extra)


@router.post("/webhooks/{endpoint_id}/disable")
async def disable_webhook(
    endpoint_id: uuid.UUID, request: Request, user: ConsoleUserDep, session: SessionDep
) -> Response:
    return await _set_enabled(request, user, session, endpoint_id, False)


@router.post("/webhooks/{endpoint_id}/enable")
async def enable_webhook(
    endpoint_id: uuid.UUID, request: Request, user: ConsoleUserDep, session: SessionDep
) -> Response:
    return await _set_enabled(request, user, session, endpoint_id, True)


@router.get("/webhooks/{endpoint_id}")
async def webhook_page(endpoint_id: uuid.UUID, request: Request, user: ConsoleUserDep, session: SessionDep) -> Response:
    service = _service(request, session)
    endpoint = WebhookOut.model_validate(await service.get(user, endpoint_id))
    deliveries, _ = await service.deliveries_of_endpoint(user, endpoint_id, DELIVERIES_SHOWN, None)
    context = {"e": endpoint, "deliveries": deliveries, "on_detail": True, **_common()}
    return templates.TemplateResponse(request, "webhooks_detail.html", context)


@router.get("/webhooks/{endpoint_id}/deliveries")
async def webhook_deliveries(
    endpoint_id: uuid.UUID, request: Request, user: ConsoleUserDep, session: SessionDep
) -> Response:
    """The endpoint's latest deliveries, and its row out of band (the detail page polls this: its state, such as
    failing or healthy again, follows the deliveries)."""
    service = _service(request, session)
    endpoint = WebhookOut.model_validate(await service.get(user, endpoint_id))
    deliveries, _ = await service.deliveries_of_endpoint(user, endpoint_id, DELIVERIES_SHOWN, None)
    context = {"deliveries": deliveries, "endpoint_id": endpoint_id, **_common()}
    row = fragment(request, "webhooks_row.html", {"e": endpoint, "on_detail": True, "oob": True})
    return HTMLResponse(fragment(request, "webhooks_deliveries.html", context) + f"<template>{row}</template>")


@router.post("/webhooks/deliveries/{delivery_id}/retry")
async def retry_delivery(
    delivery_id: uuid.UUID, request: Request, user: ConsoleUserDep, session: SessionDep
) -> Response:
    """One more attempt now, as `POST /v1/deliveries/{id}/retry`; answers with the delivery's row."""
    service = _service(request, session)
    delivery = (await service.outs([await service.retry(user, delivery_id)]))[0]
    extra = notice(request, "Retrying the delivery now.")
    return HTMLResponse(fragment(request, "webhooks_delivery_row.html", {"d": delivery, **_common()}) + extra)
