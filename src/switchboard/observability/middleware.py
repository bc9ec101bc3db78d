"""Request id, the `http.request` log line, the request-log row and the HTTP metrics, for every HTTP request.

Pure ASGI (not BaseHTTPMiddleware) so streamed responses pass through untouched."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.kit.db import DatabaseUnavailable, database_unavailable
from switchboard.kit.errors import app_error_response, internal_error_response
from switchboard.kit.request_context import accept_request_id, set_request_id
from switchboard.observability.metrics import HTTP_REQUESTS, HTTP_SECONDS
from switchboard.observability.request_logs import RequestLogEntry

log = structlog.get_logger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
PROBES = frozenset({"/health", "/ready"})
UNMATCHED = "unmatched"  # the route label of every request no route took: raw paths would be unbounded
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class _HttpMetrics:
    """The metric children by label values, looked up once each: `labels()` validates and locks on every call,
    and this is on every request's path."""

    def __init__(self) -> None:
        self.counted: dict[tuple[str, str, int], Callable[[], None]] = {}
        self.timed: dict[tuple[str, str], Callable[[float], None]] = {}

    def record(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        route = getattr(scope.get("route"), "path", None) or UNMATCHED  # set by the router: the path's template
        count = self.counted.get((method, route, status))
        if count is None:
            count = self.counted[(method, route, status)] = HTTP_REQUESTS.labels(method, route, str(status)).inc
        count()
        observe = self.timed.get((method, route))
        if observe is None:
            observe = self.timed[(method, route)] = HTTP_SECONDS.labels(method, route).observe
        observe(seconds)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.metrics = _HttpMetrics()

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
        first_byte = 0.0

        async def send_with_id(message: Message) -> None:
            nonlocal status_code, response_started, first_byte
            if message["type"] == "http.response.start":
                response_started = True
                status_code = message["status"]
                first_byte = time.perf_counter()
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
            ended = time.perf_counter()
            duration_ms = round((ended - started) * 1000, 3)
            # Until the response starts: a stream's length is its client's, not the server's latency.
            self.metrics.record(scope, status_code, (first_byte or ended) - started)
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
