"""The FastAPI application: its factory and lifespan (database, migrations, plugins, agents, log writer)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import structlog
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from switchboard import __version__
from switchboard.agents.endpoints import router as agents_router
from switchboard.agents.registry import AgentRegistry
from switchboard.agents.schemas import AGENT_NAME_MARK
from switchboard.api_docs.pages import install_api_docs
from switchboard.auth.key_cache import KeyCache
from switchboard.chat.endpoints import router as chat_router
from switchboard.console import install_console
from switchboard.engine import channels
from switchboard.engine.embedded import EmbeddedWorkers
from switchboard.kit.db import Database, safe_url
from switchboard.kit.errors import install_error_handlers
from switchboard.kit.logging import configure_logging
from switchboard.kit.notify import Notifier
from switchboard.kit.openapi import complete_openapi
from switchboard.kit.request_guard import RequestGuardMiddleware
from switchboard.kit.routing import MethodCheckMiddleware
from switchboard.knowledge.endpoints import router as knowledge_router
from switchboard.limits.endpoints import router as limits_router
from switchboard.limits.guard import RateLimitHeaders
from switchboard.limits.runtime import close_limits, open_limits
from switchboard.limits.tiers import TIER_NAME_MARK
from switchboard.migrations import runner as migrations
from switchboard.notifications.endpoints import deliveries_router
from switchboard.notifications.endpoints import router as webhooks_router
from switchboard.observability.endpoints import admin_router, health_router
from switchboard.observability.middleware import RequestContextMiddleware
from switchboard.observability.request_logs import RequestLogWriter
from switchboard.observability.scrape import router as metrics_router
from switchboard.plugins.loader import load_plugins
from switchboard.runs.approvals import router as approvals_router
from switchboard.runs.endpoints import router as runs_router
from switchboard.schedules.endpoints import router as schedules_router
from switchboard.settings import Settings
from switchboard.state import AppState
from switchboard.threads.endpoints import router as threads_router
from switchboard.tools.endpoints import router as tools_router
from switchboard.triggers.endpoints import hooks_router
from switchboard.triggers.endpoints import router as triggers_router
from switchboard.triggers.service import HOOKS_PATH
from switchboard.usage.endpoints import router as usage_router
from switchboard.users.endpoints import admin_router as users_admin_router
from switchboard.users.endpoints import router as users_router

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor

log = structlog.get_logger(__name__)

DESCRIPTION = """
Switchboard runs Pydantic AI agents behind an authenticated HTTP API, on PostgreSQL.

**Authentication**: every route except `/health`, `/ready` and these docs needs an API key:
`Authorization: Bearer sb_…` (create one with `switchboard keys create --email you@example.com`).
The web console (`/console`) signs in with a key and calls this API with its session cookie instead; a request
with that cookie that changes something must carry the page's `X-CSRF-Token`.

**Errors** always have one shape: `{"error": {"type", "message", "request_id", "details"?}}`.

**Tracing**: send `X-Request-ID` to choose the request id (up to 128 of `A-Z a-z 0-9 . _ : -`); it is
returned in the `X-Request-ID` header and in JSON bodies, and bound to every log line of the request.
With `SWITCHBOARD_OTEL_ENDPOINT` set, requests and the runs they create are traced (OpenTelemetry, W3C
`traceparent` accepted).

**Metrics**: `GET /metrics` answers in Prometheus' text format, to the scrape token
(`SWITCHBOARD_METRICS_TOKEN`, as a bearer token) or an admin's key.

**The `offline` model** is deterministic rules, not an LLM: it lets the server and its tests run with no model
provider. Set `SWITCHBOARD_MODEL` to use a real model.
"""


def create_app(settings: Settings | None = None, *, span_processor: SpanProcessor | None = None) -> FastAPI:
    """`span_processor`: where the spans go (tracing on, whatever `SWITCHBOARD_OTEL_ENDPOINT` says), e.g. to
    export them otherwise than by OTLP; by default they go to the OTLP endpoint, if one is set."""
    settings = settings or Settings()
    tracing = None
    if span_processor is not None or settings.otel_endpoint is not None:
        from switchboard.observability.otel import Tracing

        tracing = Tracing(settings, span_processor)
    configure_logging(settings.log_level, settings.log_format, settings.secrets(), trace_ids=tracing is not None)
    plugins = load_plugins(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Agents first: a bad model string stops the start-up with a clear message before the DB starts.
        agents = AgentRegistry(
            [spec for plugin in plugins for spec in plugin.agents],
            settings,
            [pipeline for plugin in plugins for pipeline in plugin.pipelines],
        )
        db = await asyncio.to_thread(functools.partial(Database.open, settings, http=True))
        writer: RequestLogWriter | None = None
        notifier: Notifier | None = None
        workers = EmbeddedWorkers(settings.workers)
        try:
            if tracing is not None:
                tracing.start()
                tracing.instrument_engine(db.engine)
            if settings.migrate_on_start:
                await migrations.upgrade(db.engine, plugins)
            if settings.request_log_enabled:
                writer = RequestLogWriter(db.engine)
                writer.start()
            notifier = Notifier(db.url, channels.ALL)
            await notifier.start()
            app.state.switchboard = AppState(
                settings=settings,
                db=db,
                agents=agents,
                plugins=plugins,
                request_logs=writer,
                notifier=notifier,
                keys=KeyCache(ttl=settings.auth_cache_seconds),
                workers=workers,
                limits=await open_limits(db.engine, settings),
            )
            await workers.start(db, agents, settings, notifier)
            _log_start(settings, db, agents)
            yield
        finally:
            await workers.stop()
            await close_limits(db.engine)
            if notifier is not None:
                await notifier.close()
            if writer is not None:
                await writer.stop()
            await db.close()
            if tracing is not None:
                tracing.shutdown()
            log.info("server.stopped")

    app = FastAPI(
        title="Switchboard",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Served by install_api_docs from the package's own copies of Swagger UI and ReDoc, not from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    # The last added runs first: the request id (and the request log) wraps everything, the guard included;
    # a method the path does not take is refused (405) before the body is read.
    app.add_middleware(
        RequestGuardMiddleware,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_seconds=settings.body_timeout_seconds,
        # Verified on the raw bytes before anything parses them.
        raw_body_paths=(HOOKS_PATH + "/", *(path for plugin in plugins for path in plugin.raw_body_paths)),
    )
    app.add_middleware(MethodCheckMiddleware)
    app.add_middleware(RateLimitHeaders)  # X-RateLimit-* on every response of a rate-limited route
    app.add_middleware(RequestContextMiddleware)
    if settings.cors_origins:
        # Outermost: preflights are answered before auth, and every answer (errors too) carries the CORS headers,
        # so a browser app can read an error's message and request id. Keys travel in a header, never cookies.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=[
                "X-Request-ID",
                "Location",
                "Retry-After",
                "retry-after-ms",
                *("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"),
                *("X-RateLimit-Limit-Tokens", "X-RateLimit-Remaining-Tokens", "X-RateLimit-Reset-Tokens"),
            ],
        )
    install_api_docs(app, app.title)
    install_console(app)
    if tracing is not None:
        tracing.instrument_app(app)
    routers = (
        health_router,
        metrics_router,
        agents_router,
        runs_router,
        approvals_router,
        chat_router,
        threads_router,
        users_router,
        limits_router,
        webhooks_router,
        deliveries_router,
        schedules_router,
        triggers_router,
        hooks_router,
        knowledge_router,
        tools_router,
        usage_router,
    )
    for router in (*routers, admin_router, users_admin_router):
        app.include_router(router)
    for plugin in plugins:
        for router in plugin.routers:
            app.include_router(router)
    # Once every route is in: what each operation can answer, and which agents a request may name.
    names = [spec.name for plugin in plugins for spec in plugin.agents]
    names += [pipeline.name for plugin in plugins for pipeline in plugin.pipelines]
    complete_openapi(app, {AGENT_NAME_MARK: sorted(names), TIER_NAME_MARK: sorted(settings.tiers)})
    return app


def _log_start(settings: Settings, db: Database, agents: AgentRegistry) -> None:
    log.info(
        "server.started",
        database="embedded" if db.embedded is not None else safe_url(db.url),
        agents=[a.spec.name for a in agents.all()],
    )
    offline = [a.spec.name for a in agents.all() if a.model.is_offline]
    if offline:
        log.warning(
            "model.offline",
            agents=offline,
            note="the offline model is deterministic rules, not an LLM; set SWITCHBOARD_MODEL for a real model",
        )
