"""The console's sign-in: an API key exchanged for a session cookie, and the CSRF token bound to that cookie.

The cookie holds a session id and the key, sealed (Fernet: encrypted and authenticated) under a key derived from
the server's secret, so it is opaque to the browser and to anyone who reads it, and every request with it is
authenticated as a request with the key itself would be: a revoked key ends its sessions at once, and scopes and
tiers apply. It is HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it) and expires with
the session. Signing out records the session id as ended (`ended_browser_sessions`), so a copy of the cookie is
refused from then on: in this process at once, in others within SWITCHBOARD_AUTH_CACHE_SECONDS, as for keys.

CSRF: every request with the cookie that changes something must also carry the session's CSRF token (header
`X-CSRF-Token`, or form field `csrf_token` on console forms). The token is an HMAC of the cookie, so it needs no
storage and a token from one session is worthless in another. The console writes it into its pages; SameSite
already stops other sites' forms, the token is the second lock.

Processes on several hosts must share SWITCHBOARD_SECRET_KEY to accept each other's cookies (as for stored
secrets): without it, each host generates its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from starlette.responses import Response

from switchboard.kit.errors import PermissionDenied, Unauthenticated
from switchboard.kit.secret_box import server_key
from switchboard.models import EndedBrowserSession
from switchboard.settings import Settings

SESSION_COOKIE = "switchboard_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_SECONDS = 12 * 3600  # a working day: then sign in again
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
EXPIRED = "Your console session has expired, was signed out or is not valid: sign in again."


@dataclass(frozen=True)
class BrowserSession:
    id: uuid.UUID
    key: str  # the API key it stands for
    expires_at: datetime


class BrowserSessions:
    """Seals keys into cookies and opens them again; derives each session's CSRF token; remembers which sessions
    were found not ended (for `ttl` seconds) and which ended."""

    def __init__(self, fernet: Fernet, csrf_key: bytes, max_entries: int = 10_000) -> None:
        self.fernet = fernet
        self.csrf_key = csrf_key
        self.max_entries = max_entries
        self._checked: OrderedDict[uuid.UUID, tuple[float, bool]] = OrderedDict()  # id -> (when, ended)

    def seal(self, api_key: str) -> str:
        return self.fernet.encrypt(f"{uuid.uuid4()} {api_key}".encode()).decode()

    def open(self, cookie: str) -> BrowserSession:
        """The session in a cookie; Unauthenticated when it was not sealed here, or is older than a session."""
        try:
            token = cookie.encode("ascii")
            sid, key = self.fernet.decrypt(token, ttl=SESSION_SECONDS).decode().split(" ", 1)
            issued = self.fernet.extract_timestamp(token)
            return BrowserSession(uuid.UUID(sid), key, datetime.fromtimestamp(issued + SESSION_SECONDS, UTC))
        except (InvalidToken, ValueError, UnicodeError):
            raise Unauthenticated(EXPIRED) from None

    def csrf_token(self, cookie: str) -> str:
        return hmac.new(self.csrf_key, cookie.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, cookie: str, token: str | None) -> None:
        expected = self.csrf_token(cookie).encode()
        if token is None or not hmac.compare_digest(token.encode(errors="replace"), expected):
            raise PermissionDenied(
                "This request came with the console's session cookie but without its CSRF token: reload the page "
                f"and try again (scripts send the `{CSRF_HEADER}` header, or use an API key instead)."
            )

    def remembered_ended(self, sid: uuid.UUID, ttl: float) -> bool | None:
        """Whether the session ended, if known here: an ended one for good, one found live for `ttl` seconds."""
        remembered = self._checked.get(sid)
        if remembered is None or not (remembered[1] or time.monotonic() - remembered[0] < ttl):
            return None
        return remembered[1]

    async def read_ended(self, db: AsyncSession, sid: uuid.UUID) -> bool:
        ended = await db.scalar(select(EndedBrowserSession.id).where(EndedBrowserSession.id == sid)) is not None
        self._remember(sid, ended)
        return ended

    async def end(self, db: AsyncSession, session: BrowserSession) -> None:
        """Sign the session out everywhere; sessions that have expired anyway are forgotten meanwhile."""
        await db.execute(delete(EndedBrowserSession).where(EndedBrowserSession.expires_at < datetime.now(UTC)))
        row = {"id": session.id, "expires_at": session.expires_at}
        await db.execute(insert(EndedBrowserSession).values(row).on_conflict_do_nothing())
        self._remember(session.id, True)

    def _remember(self, sid: uuid.UUID, ended: bool) -> None:
        self._checked[sid] = (time.monotonic(), ended)
        self._checked.move_to_end(sid)
        while len(self._checked) > self.max_entries:
            self._checked.popitem(last=False)


def browser_sessions(settings: Settings) -> BrowserSessions:
    return _sessions(server_key(settings))


@lru_cache(maxsize=8)
def _sessions(secret: str) -> BrowserSessions:
    def derive(purpose: str) -> bytes:
        return hashlib.sha256(f"switchboard {purpose}\0{secret}".encode()).digest()

    return BrowserSessions(Fernet(base64.urlsafe_b64encode(derive("console session"))), derive("console csrf"))


def session_cookie(connection: HTTPConnection) -> str | None:
    return connection.cookies.get(SESSION_COOKIE) or None


def set_session_cookie(response: Response, connection: HTTPConnection, value: str) -> None:
    # Secure when the browser reached us over HTTPS, here or at a proxy in front (a spoofed header only makes the
    # cookie stricter).
    https = connection.url.scheme == "https" or connection.headers.get("x-forwarded-proto") == "https"
    response.set_cookie(
        SESSION_COOKIE, value, max_age=SESSION_SECONDS, path="/", httponly=True, samesite="strict", secure=https
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
