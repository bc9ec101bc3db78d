"""The console's automation pages: schedules, triggers and webhook endpoints (each its own module)."""

from __future__ import annotations

from fastapi import APIRouter

from switchboard.console import schedules, triggers, webhooks
from switchboard.console.routing import ConsoleRoute

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
router.include_router(schedules.router)
router.include_router(triggers.router)
router.include_router(webhooks.router)
