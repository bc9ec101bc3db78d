"""Who is using the console: the principal of the API key their session cookie holds, checked as an API request
with that key would be (revocation, scopes, tier), and the CSRF token on everything that changes something."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from switchboard.auth.browser_session import CSRF_FIELD, CSRF_HEADER, SAFE_METHODS, browser_sessions, session_cookie
from switchboard.auth.dependencies import principal_for_key
from switchboard.auth.principal import Principal
from switchboard.console.rendering import ConsoleVisit
from switchboard.console.routing import SignInRequired
from switchboard.kit.errors import NotFound, Unauthenticated
from switchboard.state import app_state

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _console_user(request: Request) -> Principal:
    cookie = session_cookie(request)
    if cookie is None:
        raise SignInRequired()
    sessions = browser_sessions(app_state(request).settings)
    try:
        key = sessions.open(cookie)
    except Unauthenticated as exc:
        raise SignInRequired(exc.message) from None
    if request.method not in SAFE_METHODS:
        token = request.headers.get(CSRF_HEADER)
        if token is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
            field = (await request.form()).get(CSRF_FIELD)
            token = field if isinstance(field, str) else None
        sessions.check_csrf(cookie, token)
    try:
        user = await principal_for_key(request, key)
    except Unauthenticated as exc:  # the key was revoked since: the session ends with it
        raise SignInRequired(exc.message) from None
    request.state.console = ConsoleVisit(user=user, csrf_token=sessions.csrf_token(cookie))
    return user


ConsoleUserDep = Annotated[Principal, Depends(_console_user)]


async def _console_admin(user: ConsoleUserDep) -> Principal:
    """Admin pages do not exist for anyone else (404, as another user's things are)."""
    if not user.is_admin:
        raise NotFound("There is no such page.")
    return user


ConsoleAdminDep = Annotated[Principal, Depends(_console_admin)]
