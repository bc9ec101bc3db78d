"""`POST /webhook/receive`: the orchestrator API's signed inbound request, `{text, orchestration_mode?, webhook_url?,
webhook_secret?}`, starting a pipeline through the trigger machinery.

Who and which secret: the caller's API key says who it is (as on every route), and one of their triggers for a
text-analysis pipeline (`POST /v1/triggers {"agent": "text-analysis", …}`; `?trigger_id=` picks one, otherwise
their newest enabled one) supplies the secret: `X-Webhook-Signature` must be the hex HMAC-SHA256 of the exact body
bytes keyed with that secret as shown (`whsec_…` included, as UTF-8), or with its previous secret within the
rotation grace. The signature is checked on the raw bytes before anything is parsed or stored: a bad one is a 401
and nothing is written. Nothing signs an id or a time here, so the same signed body is one event (the trigger's
event log, unique per body digest): sent again, it answers 200 with the first request. The run is the trigger's
(`runs.trigger_id`), with the trigger's `notify` targets and the body's callback.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.principal import Principal
from switchboard.kit.errors import API_ERRORS, ErrorResponse, NotFound, PayloadTooLarge
from switchboard.kit.request_context import current_request_id
from switchboard.kit.request_guard import check_json
from switchboard.limits.guard import RunCreatorDep
from switchboard.models import Run, Trigger, TriggerEvent
from switchboard.state import app_state
from switchboard.text_analysis.endpoints import TAG
from switchboard.text_analysis.pipelines import MODE_OF_PIPELINE
from switchboard.text_analysis.schemas import ProcessRequest, ReceiveAccepted, RequestStatus
from switchboard.text_analysis.service import SIGNATURE_HEADER, STATUS_OF_RUN, Callback, TextAnalysisService
from switchboard.triggers.ingest import record_event, trigger_secrets
from switchboard.triggers.signatures import verify_hex

inbound_router = APIRouter(prefix="/webhook", tags=[TAG], responses=API_ERRORS)

RECEIVE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ReceiveAccepted, "description": "This signed body was received before: its first request."},
    202: {"model": ReceiveAccepted, "description": "Accepted: a pipeline run was started."},
    401: {"model": ErrorResponse, "description": "Missing API key, or a missing or wrong X-Webhook-Signature."},
    404: {"model": ErrorResponse, "description": "You have no enabled text-analysis trigger (or not that one)."},
    413: {"model": ErrorResponse, "description": "Larger than SWITCHBOARD_TRIGGER_MAX_PAYLOAD_BYTES."},
}
RECEIVE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "As `POST /api/v1/process`, signed in X-Webhook-Signature.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProcessRequest"}}},
    }
}


@inbound_router.post(
    "/receive",
    status_code=202,
    summary="Start a text analysis from a signed request (X-Webhook-Signature)",
    description=__doc__,
    response_model=ReceiveAccepted,
    responses=RECEIVE_RESPONSES,
    openapi_extra=RECEIVE_BODY,
)
async def receive(
    request: Request,
    user: RunCreatorDep,
    trigger_id: Annotated[uuid.UUID | None, Query(description="Which of your text-analysis triggers.")] = None,
) -> JSONResponse:
    state = app_state(request)
    body = await request.body()
    if len(body) > state.settings.trigger_max_payload_bytes:
        raise PayloadTooLarge(
            f"The request is {len(body)} bytes; at most {state.settings.trigger_max_payload_bytes} are taken "
            "(SWITCHBOARD_TRIGGER_MAX_PAYLOAD_BYTES)."
        )
    async with state.db.unit_of_work() as session:
        trigger = await _trigger(session, user, trigger_id)
        verify_hex(request.headers, body, trigger_secrets(trigger, state.settings), SIGNATURE_HEADER)
        check_json(body)  # what the request guard checks of every other body, now that it is known to be signed
        try:
            parsed = ProcessRequest.model_validate_json(body)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
            ) from None
        digest = hashlib.sha256(body).hexdigest()
        earlier = await record_event(session, trigger.id, f"sha256:{digest}", len(body), digest)
        if earlier is not None:
            status: RequestStatus = "failed" if earlier.run_id is None else await _status(session, earlier.run_id)
            again = ReceiveAccepted(request_id=earlier.run_id, status=status, duplicate=True)
            return JSONResponse(again.model_dump(mode="json"), status_code=200)
        given = "orchestration_mode" in parsed.model_fields_set
        mode = parsed.orchestration_mode if given else MODE_OF_PIPELINE[trigger.agent]
        callback = Callback(parsed.webhook_url, parsed.webhook_secret) if parsed.webhook_url is not None else None
        run = await TextAnalysisService(session, state.agents, state.settings).start(
            user,
            parsed.text,
            mode,
            callback,
            request_id=current_request_id(),
            trigger_id=trigger.id,
            trigger_notify=trigger.notify or [],
        )
        await session.execute(
            update(TriggerEvent)
            .where(TriggerEvent.trigger_id == trigger.id, TriggerEvent.event_id == f"sha256:{digest}")
            .values(run_id=run.id)
        )
        accepted = ReceiveAccepted(request_id=run.id, status=STATUS_OF_RUN[run.status], duplicate=False)
    headers = {"Location": f"/api/v1/results/{run.id}"}
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202, headers=headers)


async def _trigger(session: AsyncSession, user: Principal, trigger_id: uuid.UUID | None) -> Trigger:
    query = select(Trigger).where(
        Trigger.user_id == user.user_id, Trigger.enabled, Trigger.agent.in_(list(MODE_OF_PIPELINE))
    )
    if trigger_id is not None:
        query = query.where(Trigger.id == trigger_id)
    trigger = await session.scalar(query.order_by(Trigger.created_at.desc(), Trigger.id.desc()).limit(1))
    if trigger is None:
        which = f"trigger {trigger_id}" if trigger_id is not None else "trigger"
        raise NotFound(
            f"No enabled text-analysis {which} of yours: create one with POST /v1/triggers "
            '{"agent": "text-analysis", "name": "…", "instructions": "…"}; sign with the secret it shows.'
        )
    return trigger


async def _status(session: AsyncSession, run_id: uuid.UUID) -> RequestStatus:
    return STATUS_OF_RUN[(await session.get_one(Run, run_id)).status]
