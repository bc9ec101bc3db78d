"""The web console at `/console`: server-rendered pages (Jinja2, htmx, uPlot; every asset served from this
package, so it works offline) over the same services and rules as the API, signed in with an API key."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from switchboard.console import admin, agents, approvals, automation, chat, knowledge, runs, sign_in, usage
from switchboard.console.rendering import STATIC_URL

STATIC_DIR = Path(__file__).parent / "static"

# Each page's router: its routes are ConsoleRoutes (errors as pages) and are left out of the OpenAPI.
ROUTERS = (
    sign_in.router,
    agents.router,
    chat.router,
    runs.router,
    approvals.router,
    automation.router,
    knowledge.router,
    usage.router,
    admin.router,
)


def install_console(app: FastAPI) -> None:
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="console-static")
    for router in ROUTERS:
        app.include_router(router)
