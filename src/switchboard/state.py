"""What the lifespan builds once and every request reads: settings, database, agents, background writers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

if TYPE_CHECKING:
    from switchboard.agents.registry import AgentRegistry
    from switchboard.auth.key_cache import KeyCache
    from switchboard.engine.embedded import EmbeddedWorkers
    from switchboard.kit.db import Database
    from switchboard.kit.notify import Notifier
    from switchboard.limits.runtime import Limits
    from switchboard.observability.request_logs import RequestLogWriter
    from switchboard.plugins.spec import Plugin
    from switchboard.settings import Settings


@dataclass
class AppState:
    settings: Settings
    db: Database
    agents: AgentRegistry
    plugins: list[Plugin]
    request_logs: RequestLogWriter | None
    notifier: Notifier
    keys: KeyCache  # API keys authenticated moments ago
    workers: EmbeddedWorkers  # the worker loops in this process (none with `serve --workers 0`)
    limits: Limits  # the rate limiter and the per-address limits
    migrations_at_head: bool = False  # once /ready has seen it: migrations only move forward while we run
    # Set when the server begins to shut down (SIGTERM): requests waiting for a run answer at once.
    draining: asyncio.Event = field(default_factory=asyncio.Event)


def app_state(connection: HTTPConnection) -> AppState:
    state: AppState = connection.app.state.switchboard
    return state
