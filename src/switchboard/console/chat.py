"""The console's chat pages (being built)."""

from __future__ import annotations

from fastapi import APIRouter

from switchboard.console.routing import ConsoleRoute

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
