"""Who is using the console: the principal of the API key their session cookie holds, checked as an API request
with that key would be (revocation, scopes, tier), and the CSRF token on everything that changes something."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from switchboard.auth.browser_session import CSRF_FIELD, CSRF_HEADER, SAFE_METHODS, browser_sessions, session_cookie
from switchboard.auth.dependencies import browser_session_key, principal_for_key
from switchboard.auth.principal import Principal
from switchboard.console.rendering import ConsoleVisit
from switchboard.console.routing import SignInRequired
from switchboard.kit.errors import NotFound, Unauthenticated
from switchboard.state import app_state

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _console_user(request: Request) -> Principal:
    try:
        key = await browser_session_key(request, await csrf_token_of(request))
        if key is None:
            raise SignInRequired(ended=False)
        user = await principal_for_key(request, key)
    except Unauthenticated:  # expired, signed out, or the key was revoked since: sign in again
        raise SignInRequired(ended=True) from None
    cookie = session_cookie(request) or ""
    request.state.console = ConsoleVisit(
        user=user, csrf_token=browser_sessions(app_state(request).settings).csrf_token(cookie)
    )
    return user


async def csrf_token_of(request: Request) -> str | None:
    """The CSRF token a request carries: htmx and scripts send the header, plain forms a field."""
    token = request.headers.get(CSRF_HEADER)
    form = request.headers.get("content-type", "").startswith(FORM_TYPES)
    if token is None and request.method not in SAFE_METHODS and form:
        field = (await request.form()).get(CSRF_FIELD)
        token = field if isinstance(field, str) else None
    return token


ConsoleUserDep = Annotated[Principal, Depends(_console_user)]


async def _console_admin(user: ConsoleUserDep) -> Principal:
    """Admin pages do not exist for anyone else (404, as another user's things are)."""
    if not user.is_admin:
        raise NotFound("There is no such page.")
    return user


ConsoleAdminDep = Annotated[Principal, Depends(_console_admin)]
