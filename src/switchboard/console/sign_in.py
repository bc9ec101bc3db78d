"""Signing in to the console with an API key, and out again; `/` and `/console` lead to the first page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from switchboard.auth.browser_session import (
    browser_sessions,
    clear_session_cookie,
    session_cookie,
    set_session_cookie,
)
from switchboard.auth.dependencies import principal_for_key
from switchboard.console.dependencies import csrf_token_of
from switchboard.console.rendering import templates
from switchboard.console.routing import SESSION_ENDED, SIGN_IN_PATH, ConsoleRoute
from switchboard.kit.db import DatabaseUnavailable
from switchboard.kit.errors import PermissionDenied, Unauthenticated
from switchboard.state import app_state

log = structlog.get_logger(__name__)

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

HOME = "/console/agents"


def _safe_next(target: str | None) -> str:
    """Only back into the console: never a redirect to another site (`//evil.example` included)."""
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return HOME


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/console", status_code=307)


@router.get("/console")
async def console_home() -> RedirectResponse:
    return RedirectResponse(HOME, status_code=303)


# Why the sign-in page is shown: fixed messages by code, so a link cannot make the page say anything else.
REASONS = {
    "signed-out": "You are signed out.",
    "signed-out-here": "You are signed out in this browser. The server could not record it (its database did not "
    "answer), so a copy of the session cookie would work until it expires.",
    SESSION_ENDED: "Your session has expired, was signed out, or its API key was revoked: sign in again.",
}


@router.get(SIGN_IN_PATH)
async def sign_in_page(request: Request, next: str | None = None, reason: str | None = None) -> Response:
    context = {"next": _safe_next(next), "reason": REASONS.get(reason or ""), "error": None}
    return templates.TemplateResponse(request, "sign_in.html", context)


@router.post(SIGN_IN_PATH)
async def sign_in(
    request: Request, api_key: Annotated[str, Form(max_length=200)], next: Annotated[str, Form()] = HOME
) -> Response:
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):  # another site's form
        raise PermissionDenied("Sign in from this server's own sign-in page.")
    key = api_key.strip()
    try:
        await principal_for_key(request, key)
    except Unauthenticated as exc:
        context = {"next": _safe_next(next), "reason": None, "error": exc.message}
        return templates.TemplateResponse(request, "sign_in.html", context, status_code=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, request, browser_sessions(app_state(request).settings).seal(key))
    return response


@router.post("/console/sign-out")
async def sign_out(request: Request) -> Response:
    """Needs the session's CSRF token, not a working key or database: the cookie is cleared in any case, and the
    session recorded as ended (so that a copy of the cookie is refused too) when the database answers."""
    reason = "signed-out"
    cookie = session_cookie(request)
    if cookie is not None:
        state = app_state(request)
        sessions = browser_sessions(state.settings)
        try:
            session = sessions.open(cookie)
        except Unauthenticated:
            session = None  # expired or foreign: nothing to end
        if session is not None:
            sessions.check_csrf(cookie, await csrf_token_of(request))
            try:
                async with state.db.unit_of_work() as db:
                    await sessions.end(db, session)
            except DatabaseUnavailable:
                log.warning("console.sign_out_not_recorded", session=str(session.id))
                reason = "signed-out-here"
    response = RedirectResponse(f"{SIGN_IN_PATH}?reason={reason}", status_code=303)
    clear_session_cookie(response)
    return response
