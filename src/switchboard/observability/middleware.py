"""Request id, the `http.request` log line and the request-log row, for every HTTP request.

Pure ASGI (not BaseHTTPMiddleware) so streamed responses pass through untouched."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.kit.db import DatabaseUnavailable, database_unavailable
from switchboard.kit.errors import app_error_response, internal_error_response
from switchboard.kit.request_context import accept_request_id, set_request_id
from switchboard.observability.request_logs import RequestLogEntry

log = structlog.get_logger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
PROBES = frozenset({"/health", "/ready"})


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = accept_request_id(headers.get("x-request-id"))
        set_request_id(request_id)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        status_code = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status_code, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_code = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if database_unavailable(exc):
                # An outage, not a bug: the client is told to retry (503), the log says what happened, briefly.
                log.warning("db.unavailable", method=scope["method"], path=scope["path"], error=repr(exc)[:300])
                if not response_started:
                    await app_error_response(DatabaseUnavailable())(scope, receive, send_with_id)
            else:
                log.exception("http.unhandled_error", method=scope["method"], path=scope["path"])
                if not response_started:
                    await internal_error_response()(scope, receive, send_with_id)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            user_id = scope.get("state", {}).get("user_id")
            client = scope.get("client")
            # Health probes that succeed come every few seconds from a load balancer: not worth an INFO line each.
            quiet = status_code == 200 and scope["path"] in PROBES
            (log.debug if quiet else log.info)(
                "http.request",
                method=scope["method"],
                path=scope["path"],
                status=status_code,
                duration_ms=duration_ms,
                user_id=user_id,
            )
            writer = getattr(getattr(scope["app"].state, "switchboard", None), "request_logs", None)
            if writer is not None:
                writer.submit(
                    RequestLogEntry(
                        request_id=request_id,
                        method=scope["method"],
                        path=scope["path"][:2048],
                        status_code=status_code,
                        duration_ms=duration_ms,
                        client_host=client[0] if client else None,
                        user_agent=(headers.get("user-agent") or "")[:500] or None,
                        user_id=user_id,
                        created_at=started_at,
                    )
                )
            structlog.contextvars.clear_contextvars()
            set_request_id(None)
