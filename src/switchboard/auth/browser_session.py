"""The console's sign-in: an API key exchanged for a session cookie, and the CSRF token bound to that cookie.

The cookie holds the key sealed (Fernet: encrypted and authenticated) under a key derived from the server's
secret, so it is opaque to the browser and to anyone who reads it, and every request with it is authenticated as
a request with the key itself would be: a revoked key ends its sessions at once, and scopes and tiers apply.
It is HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it) and expires with the session.

CSRF: every request with the cookie that changes something must also carry the session's CSRF token (header
`X-CSRF-Token`, or form field `csrf_token` on console forms). The token is an HMAC of the cookie, so it needs no
storage and a token from one session is worthless in another. The console writes it into its pages; SameSite
already stops other sites' forms, the token is the second lock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from starlette.requests import HTTPConnection
from starlette.responses import Response

from switchboard.kit.errors import PermissionDenied, Unauthenticated
from switchboard.kit.secret_box import server_key
from switchboard.settings import Settings

SESSION_COOKIE = "switchboard_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_SECONDS = 12 * 3600  # a working day: then sign in again
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class BrowserSessions:
    """Seals keys into cookies and opens them again; derives each session's CSRF token."""

    fernet: Fernet
    csrf_key: bytes

    def seal(self, api_key: str) -> str:
        return self.fernet.encrypt(api_key.encode()).decode()

    def open(self, cookie: str) -> str:
        """The API key in a cookie; Unauthenticated when it was not sealed here, or is older than a session."""
        try:
            return self.fernet.decrypt(cookie.encode(), ttl=SESSION_SECONDS).decode()
        except (InvalidToken, ValueError):
            raise Unauthenticated("Your console session has expired or is not valid: sign in again.") from None

    def csrf_token(self, cookie: str) -> str:
        return hmac.new(self.csrf_key, cookie.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, cookie: str, token: str | None) -> None:
        if token is None or not hmac.compare_digest(token, self.csrf_token(cookie)):
            raise PermissionDenied(
                "This request came with the console's session cookie but without its CSRF token: reload the page "
                f"and try again (scripts send the `{CSRF_HEADER}` header, or use an API key instead)."
            )


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
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=connection.url.scheme == "https",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
