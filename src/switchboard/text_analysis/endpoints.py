"""Seed 003's API under /api/v1, behind an API key like every route: submit a text, read results (one, or a
filtered page), a request's callback log, retry its callback, and health.

A request is a run of the `text-analysis` (parallel) or `text-analysis-sequential` pipeline: durable, executed
by workers, its three agents child runs. Seed 003's errors were `{"error", "message", "request_id"}`; here they
have Switchboard's one shape, `{"error": {"type", "message", "request_id"}}`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from switchboard.auth.dependencies import PrincipalDep, SessionDep
from switchboard.kit.clock import utc_now
from switchboard.kit.errors import API_ERRORS, ErrorResponse
from switchboard.kit.pagination import CursorParam, LimitParam
from switchboard.kit.request_context import current_request_id
from switchboard.kit.schemas import Timestamp
from switchboard.limits.guard import RunCreatorDep
from switchboard.models.runs import FINAL
from switchboard.state import app_state
from switchboard.text_analysis.pipelines import Mode
from switchboard.text_analysis.schemas import (
    HealthStatus,
    ProcessAccepted,
    ProcessingResult,
    ProcessRequest,
    RequestStatus,
    ResultPage,
    WebhookLogs,
    WebhookRetried,
)
from switchboard.text_analysis.service import STATUS_OF_RUN, Callback, ResultFilter, TextAnalysisService
from switchboard.text_analysis.summarizer import NAME as SUMMARIZER

TAG = "text analysis (orchestrator API)"
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse, "description": "No such request of yours."}}
router = APIRouter(prefix="/api/v1", tags=[TAG], responses=API_ERRORS)


def _service(request: Request, session: SessionDep) -> TextAnalysisService:
    state = app_state(request)
    return TextAnalysisService(session, state.agents, state.settings)


@router.post(
    "/process",
    status_code=202,
    summary="Submit a text for summary, sentiment and entities",
    response_model=ProcessAccepted,
    responses={
        422: {"model": ErrorResponse, "description": "Invalid input (the text's length, a refused webhook_url…)."},
    },
)
async def process(body: ProcessRequest, request: Request, user: RunCreatorDep, session: SessionDep) -> JSONResponse:
    """Starts the pipeline and answers at once; poll `GET /api/v1/results/{request_id}` or give a `webhook_url`,
    which receives the result (`GET /api/v1/results/{id}`'s analysis fields) as the JSON body, signed in
    `X-Webhook-Signature` (hex HMAC-SHA256 of the body with `webhook_secret`) and with Standard Webhooks headers.
    A failed request's callback is the run event `{type: "run.failed", timestamp, data}` instead."""
    state = app_state(request)
    service = TextAnalysisService(session, state.agents, state.settings)
    callback = Callback(body.webhook_url, body.webhook_secret) if body.webhook_url is not None else None
    run = await service.start(
        user, body.text, body.orchestration_mode, callback, request_id=current_request_id(), field="webhook_url"
    )
    accepted = ProcessAccepted(
        request_id=run.id,
        status=STATUS_OF_RUN[run.status],
        orchestration_mode=body.orchestration_mode,
        message=f"Processing started ({body.orchestration_mode}); poll GET /api/v1/results/{run.id}.",
        created_at=run.created_at,
    )
    headers = {"Location": f"/api/v1/results/{run.id}"}
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202, headers=headers)


@router.get(
    "/results/{request_id}",
    summary="A request's result (202 while it is processing)",
    response_model=ProcessingResult,
    responses={
        202: {"model": ProcessingResult, "description": "Not finished: `status` says where it is."},
        **NOT_FOUND,
    },
)
async def get_result(request_id: uuid.UUID, request: Request, user: PrincipalDep, session: SessionDep) -> JSONResponse:
    service = _service(request, session)
    run = await service.get(user, request_id)
    result = (await service.results([run]))[0]
    return JSONResponse(result.model_dump(mode="json"), status_code=200 if run.status in FINAL else 202)


@router.get("/results", summary="Your requests, newest first, filtered")
async def list_results(
    request: Request,
    user: PrincipalDep,
    session: SessionDep,
    status: Annotated[RequestStatus | None, Query(description="pending, processing, completed or failed.")] = None,
    orchestration_mode: Annotated[Mode | None, Query(description="sequential or parallel.")] = None,
    created_after: Annotated[Timestamp | None, Query(description="Created at or after (ISO 8601).")] = None,
    created_before: Annotated[Timestamp | None, Query(description="Created before (ISO 8601).")] = None,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
) -> ResultPage:
    """Any combination of filters; a range that holds nothing (after > before) is an empty page."""
    service = _service(request, session)
    where = ResultFilter(
        status=status, mode=orchestration_mode, created_after=created_after, created_before=created_before
    )
    runs, next_cursor = await service.page(user, where, limit, cursor)
    return ResultPage(items=await service.results(runs), next_cursor=next_cursor)


@router.get("/webhook-logs/{request_id}", summary="Every attempt at a request's callback", responses=NOT_FOUND)
async def webhook_logs(request_id: uuid.UUID, request: Request, user: PrincipalDep, session: SessionDep) -> WebhookLogs:
    status, logs = await _service(request, session).webhook_logs(user, request_id)
    return WebhookLogs(request_id=request_id, webhook_status=status, logs=logs)


@router.post(
    "/webhook/retry/{request_id}",
    status_code=202,
    summary="Send a request's failed callback again, now",
    responses={**NOT_FOUND, 409: {"model": ErrorResponse, "description": "No failed or dead callback to retry."}},
)
async def retry_webhook(
    request_id: uuid.UUID, request: Request, user: PrincipalDep, session: SessionDep
) -> WebhookRetried:
    """The outbox sends it (SSRF-guarded, signed as before); `GET /api/v1/webhook-logs/{id}` shows the attempt."""
    retried = await _service(request, session).retry_callback(user, request_id)
    return WebhookRetried(request_id=request_id, retried=retried, message="The callback will be attempted now.")


@router.get(
    "/health",
    summary="The database answers (no model is called)",
    responses={503: {"model": ErrorResponse, "description": "The database is unreachable."}},
)
async def health(request: Request, user: PrincipalDep, session: SessionDep) -> HealthStatus:
    """A database round trip per probe; the model is named, never called (a probe must cost no tokens)."""
    await session.execute(text("SELECT 1"))
    state = app_state(request)
    model = state.agents.require(SUMMARIZER).model.name if SUMMARIZER in state.agents else str(state.settings.model)
    return HealthStatus(status="healthy", database="ok", model=model, timestamp=utc_now())
