from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from switchboard import __version__
from switchboard.auth.dependencies import AdminDep, SessionDep
from switchboard.kit.errors import API_ERRORS, ErrorResponse, app_error_response, error_response
from switchboard.kit.pagination import CursorParam, LimitParam
from switchboard.kit.schemas import Timestamp
from switchboard.migrations.runner import UnknownMigrations, pending_heads
from switchboard.observability.repository import RequestLogFilter, RequestLogRepository
from switchboard.observability.schemas import Health, Readiness, RequestLogOut, RequestLogPage
from switchboard.state import app_state

health_router = APIRouter(tags=["health"])
admin_router = APIRouter(prefix="/v1/admin", tags=["admin"], responses={**API_ERRORS, 403: {"model": ErrorResponse}})


@health_router.get("/health", summary="The process is alive (does not touch the database)")
async def health() -> Health:
    return Health(status="ok", version=__version__)


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
        pending = set() if state.migrations_at_head else await pending_heads(state.db.engine, state.plugins)
    except UnknownMigrations as exc:  # a plugin's revisions without its code: say which, and what to do
        return app_error_response(exc)
    except Exception as exc:
        return error_response(503, "unavailable", f"database unreachable: {type(exc).__name__}")
    if pending:
        return error_response(
            503, "unavailable", f"migrations pending ({', '.join(sorted(pending))}); run `switchboard migrate`"
        )
    state.migrations_at_head = True
    return Readiness(status="ready", database="ok", migrations="at_head")


@admin_router.get("/request-logs", summary="Request logs, newest first (admins only)")
async def request_logs(
    admin: AdminDep,
    session: SessionDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    request_id: Annotated[str | None, Query(max_length=128)] = None,
    path: Annotated[str | None, Query(max_length=2048, description="Exact path, e.g. /api/v1/chat")] = None,
    status: Annotated[int | None, Query(ge=100, le=599)] = None,
    since: Annotated[Timestamp | None, Query(description="Only requests at or after this time (ISO 8601).")] = None,
    until: Annotated[Timestamp | None, Query(description="Only requests before this time (ISO 8601).")] = None,
    user_id: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="Only requests made with this user's keys.")
    ] = None,
) -> RequestLogPage:
    where = RequestLogFilter(request_id=request_id, path=path, status=status, since=since, until=until, user_id=user_id)
    rows, next_cursor = await RequestLogRepository(session).page(where, limit, cursor)
    return RequestLogPage(items=[RequestLogOut.model_validate(r) for r in rows], next_cursor=next_cursor)
