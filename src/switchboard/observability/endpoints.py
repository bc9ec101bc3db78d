from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from switchboard import __version__
from switchboard.auth.dependencies import AdminDep, SessionDep
from switchboard.kit.errors import API_ERRORS, ErrorResponse, error_response
from switchboard.kit.pagination import CursorParam, LimitParam, Page
from switchboard.kit.state import app_state
from switchboard.migrations.runner import pending_heads
from switchboard.observability.repository import RequestLogFilter, RequestLogRepository

health_router = APIRouter(tags=["health"])
admin_router = APIRouter(prefix="/v1/admin", tags=["admin"], responses={**API_ERRORS, 403: {"model": ErrorResponse}})


class Health(BaseModel):
    status: str
    version: str


@health_router.get("/health", summary="The process is alive (does not touch the database)")
async def health() -> Health:
    return Health(status="ok", version=__version__)


class Readiness(BaseModel):
    status: str
    database: str
    migrations: str


@health_router.get(
    "/ready",
    summary="The database answers and its migrations are at head",
    responses={503: {"model": ErrorResponse}},
    response_model=Readiness,
)
async def ready(request: Request) -> JSONResponse | Readiness:
    state = app_state(request)
    try:
        async with state.db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        pending = await pending_heads(state.db.engine, state.plugins)
    except Exception as exc:
        return error_response(503, "unavailable", f"database unreachable: {type(exc).__name__}")
    if pending:
        return error_response(
            503, "unavailable", f"migrations pending ({', '.join(sorted(pending))}); run `switchboard migrate`"
        )
    return Readiness(status="ready", database="ok", migrations="at_head")


class RequestLogOut(BaseModel):
    id: int
    request_id: str
    method: str
    path: str
    status_code: int
    duration_ms: float
    client_host: str | None
    user_agent: str | None
    user_id: int | None
    created_at: datetime


class RequestLogPage(Page[RequestLogOut]):
    pass


@admin_router.get("/request-logs", summary="Request logs, newest first (admins only)")
async def request_logs(
    admin: AdminDep,
    session: SessionDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    request_id: Annotated[str | None, Query(max_length=128)] = None,
    path: Annotated[str | None, Query(max_length=2048, description="Exact path, e.g. /api/v1/chat")] = None,
    status: Annotated[int | None, Query(ge=100, le=599)] = None,
    since: Annotated[datetime | None, Query(description="Only requests at or after this time (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Only requests before this time (ISO 8601).")] = None,
) -> RequestLogPage:
    where = RequestLogFilter(request_id=request_id, path=path, status=status, since=since, until=until)
    rows, next_cursor = await RequestLogRepository(session).page(where, limit, cursor)
    return RequestLogPage(
        items=[RequestLogOut.model_validate(r, from_attributes=True) for r in rows], next_cursor=next_cursor
    )
