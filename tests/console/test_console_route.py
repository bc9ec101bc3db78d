"""How a console route answers what goes wrong inside it: pages (or, to htmx, a notice for #flash), never the
API's JSON; a database outage as 503 with Retry-After, a bug as a logged 500 with the request id."""

from __future__ import annotations

import asyncpg
import httpx
from fastapi import APIRouter, FastAPI

from switchboard.console.routing import ConsoleRoute
from switchboard.kit.errors import NotFound
from tests.fixtures.server import serve_in_thread

router = APIRouter(route_class=ConsoleRoute)


@router.get("/outage")
async def outage() -> None:
    raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")


@router.get("/bug")
async def bug() -> None:
    raise KeyError("a bug")


@router.get("/missing")
async def missing() -> None:
    raise NotFound("Run 123 not found.")


def test_failures_are_pages_with_their_status() -> None:
    app = FastAPI()
    app.include_router(router)
    with serve_in_thread(app, "console-route") as url, httpx.Client(base_url=url) as client:
        down = client.get("/outage")
        assert down.status_code == 503
        assert down.headers["retry-after"] == "2"
        assert "text/html" in down.headers["content-type"]
        assert "database is unavailable" in down.text
        bug = client.get("/bug")
        assert bug.status_code == 500
        assert "text/html" in bug.headers["content-type"]
        assert "a bug" not in bug.text  # the exception stays in the log
        notice = client.get("/missing", headers={"HX-Request": "true"})
        assert notice.status_code == 404
        assert notice.headers["hx-retarget"] == "#flash"
        assert "Run 123 not found." in notice.text
        assert "<html" not in notice.text  # a notice, not a page
