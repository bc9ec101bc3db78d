"""FastAPI dependencies: the unit of work and the caller's identity, from the bearer API key (or the console's
session cookie, which holds one: `auth.browser_session`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.browser_session import (
    CSRF_HEADER,
    EXPIRED,
    SAFE_METHODS,
    browser_sessions,
    session_cookie,
)
from switchboard.auth.principal import Principal
from switchboard.auth.scopes import Scope
from switchboard.auth.service import authenticate
from switchboard.kit.db import DatabaseUnavailable
from switchboard.kit.errors import PermissionDenied, RateLimited, Unauthenticated, raises
from switchboard.limits.address import client_address
from switchboard.state import app_state

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer sb_…`")


@raises(DatabaseUnavailable)
async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with app_state(request).db.unit_of_work() as session:
        yield session


# scope="function": the commit happens before the response is sent, so a response never reports work
# that then fails to commit.
SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]


@raises(Unauthenticated, PermissionDenied, DatabaseUnavailable, RateLimited)
async def _principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None:
        # HTTPBearer (kept for the OpenAPI security scheme) returns nothing for other schemes; say which it was.
        if request.headers.get("authorization"):
            raise Unauthenticated("Malformed Authorization header: it must read `Authorization: Bearer sb_…`.")
        # The console's pages call the API with their session cookie instead.
        key = await browser_session_key(request, request.headers.get(CSRF_HEADER))
        if key is None:
            raise Unauthenticated("Missing API key. Send `Authorization: Bearer sb_…`.")
    else:
        key = credentials.credentials
    return await principal_for_key(request, key)


@raises(Unauthenticated, PermissionDenied, DatabaseUnavailable)
async def browser_session_key(request: Request, csrf_token: str | None) -> str | None:
    """The API key of the request's console session (`auth.browser_session`), None without the cookie. A request
    that changes something must carry the session's `csrf_token`; a signed-out session is refused."""
    cookie = session_cookie(request)
    if cookie is None:
        return None
    state = app_state(request)
    sessions = browser_sessions(state.settings)
    session = sessions.open(cookie)
    if request.method not in SAFE_METHODS:
        sessions.check_csrf(cookie, csrf_token)
    ended = sessions.remembered_ended(session.id, state.settings.auth_cache_seconds)
    if ended is None:
        async with state.db.unit_of_work() as db:
            ended = await sessions.read_ended(db, session.id)
    if ended:
        raise Unauthenticated(EXPIRED)
    return session.key


@raises(Unauthenticated, DatabaseUnavailable, RateLimited)
async def principal_for_key(request: Request, key: str) -> Principal:
    """The principal of an API key: remembered, or read (and remembered) in a unit of work of its own."""
    state = app_state(request)
    principal = state.keys.get(key)
    if principal is None:
        # An address sending bad keys past SWITCHBOARD_AUTH_FAILURES_PER_MINUTE is refused before any lookup.
        failures = state.limits.auth_failures
        if failures is not None:
            failures.refuse_if_known(client_address(request))
        try:
            # Its own unit of work, and only when the key is not remembered: most requests need no session for it.
            async with state.db.unit_of_work() as session:
                principal = await authenticate(session, key, cache=state.keys)
        except Unauthenticated:
            if failures is not None:
                await failures.count(client_address(request))  # 429 instead, past the limit
            raise
    request.state.user_id = principal.user_id  # for the request log
    return principal


PrincipalDep = Annotated[Principal, Depends(_principal)]


@raises(PermissionDenied)
async def _admin(principal: PrincipalDep) -> Principal:
    if not principal.is_admin:
        raise PermissionDenied("This route is for admins.")
    return principal


AdminDep = Annotated[Principal, Depends(_admin)]


@raises(PermissionDenied)
async def require_runs_writer(principal: PrincipalDep) -> Principal:
    """The caller's key may start runs (`runs:write`): what creating a run, or saving a schedule or trigger that
    will start runs under this key, needs."""
    if not principal.may(Scope.RUNS_WRITE):
        raise PermissionDenied(
            "This API key lacks the runs:write scope, which starting runs needs (directly, in a chat, or through a "
            'schedule, trigger or task it saves). Use a key with it (POST /v1/keys {"scopes": ["runs:write", …]}).'
        )
    return principal


RunsWriterDep = Annotated[Principal, Depends(require_runs_writer)]
