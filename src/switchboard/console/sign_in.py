"""Signing in to the console with an API key, and out again; `/` and `/console` lead to the first page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from switchboard.auth.browser_session import browser_sessions, clear_session_cookie, set_session_cookie
from switchboard.auth.dependencies import principal_for_key
from switchboard.console.dependencies import ConsoleUserDep
from switchboard.console.rendering import templates
from switchboard.console.routing import SIGN_IN_PATH, ConsoleRoute
from switchboard.kit.errors import PermissionDenied, Unauthenticated
from switchboard.state import app_state

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


@router.get(SIGN_IN_PATH)
async def sign_in_page(request: Request, next: str | None = None, reason: str | None = None) -> Response:
    return templates.TemplateResponse(
        request, "sign_in.html", {"next": _safe_next(next), "reason": reason, "error": None}
    )


@router.post(SIGN_IN_PATH)
async def sign_in(
    request: Request, api_key: Annotated[str, Form(max_length=200)], next: Annotated[str, Form()] = HOME
) -> Response:
    origin = request.headers.get("origin")
    if origin is not None and origin != str(request.base_url).rstrip("/"):  # another site's form (login CSRF)
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
async def sign_out(user: ConsoleUserDep) -> Response:
    response = RedirectResponse(f"{SIGN_IN_PATH}?reason=Signed+out.", status_code=303)
    clear_session_cookie(response)
    return response
