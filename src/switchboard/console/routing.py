"""How console routes answer when something goes wrong: as a page (or, to htmx, a message in the page's
flash area), never as the API's JSON, and a signed-out visitor is sent to sign in."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import structlog
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from switchboard.console.rendering import templates
from switchboard.kit.db import DatabaseUnavailable, database_unavailable
from switchboard.kit.errors import AppError, Unauthenticated, ValidationFailed
from switchboard.kit.request_context import current_request_id

log = structlog.get_logger(__name__)

M = TypeVar("M", bound=BaseModel)

SIGN_IN_PATH = "/console/sign-in"


SESSION_ENDED = "session-ended"  # the sign-in page's reason code for a session that no longer works


class SignInRequired(Exception):
    """No console session, or it no longer works: the visitor is sent to sign in, then back here."""

    def __init__(self, ended: bool = False) -> None:
        super().__init__("sign in")
        self.ended = ended


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _back_here(request: Request) -> str:
    """Where to return after signing in: this page; for htmx, the page it updates (same host only); for a form
    sent, the page it was sent from (the form's own route answers POST only)."""
    source = request.headers.get("HX-Current-URL") if is_htmx(request) else None
    if source is None and request.method != "GET":
        source = request.headers.get("referer")
    if source is not None:
        parts = urlsplit(source)
        if parts.netloc != request.headers.get("host"):
            return "/console"
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def sign_in_redirect(request: Request, ended: bool) -> Response:
    location = f"{SIGN_IN_PATH}?next={quote(_back_here(request), safe='')}"
    if ended:
        location += f"&reason={SESSION_ENDED}"
    if is_htmx(request):  # a partial update cannot follow a redirect into the page: htmx navigates instead
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def error_page(
    request: Request, status: int, title: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """The error as the console shows it: a whole page, or for htmx a notice swapped into `#flash`."""
    context = {"status": status, "title": title, "message": message, "request_id": current_request_id()}
    if is_htmx(request):
        response = templates.TemplateResponse(request, "_flash.html", {**context, "kind": "error"}, status_code=status)
        response.headers.update({"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"})
    else:
        response = templates.TemplateResponse(request, "error.html", context, status_code=status)
    response.headers.update({k: v for k, v in (headers or {}).items() if k.lower() == "retry-after"})
    return response


_TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Conflict", 422: "Check the form"}
_TITLES |= {429: "Too many requests", 503: "Unavailable"}

# On every console answer: nothing cached (after sign-out, Back shows no one's runs), never framed (no
# clickjacking), no address leaked to other sites, no type sniffing, and scripts, styles and connections only
# from this server (the pages have no inline scripts; htmx is told not to evaluate attributes).
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
}


def parsed(model: type[M], data: dict[str, Any]) -> M:
    """The form as the API's request model reads it; invalid: 422 naming each field, as the API says it."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors()]
        raise ValidationFailed("; ".join(problems[:5])) from None


def _invalid_form(exc: RequestValidationError) -> str:
    problems = [f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'form'}: {e.get('msg')}" for e in exc.errors()]
    return "; ".join(problems[:5])


class ConsoleRoute(APIRoute):
    """An APIRoute whose answers are pages, failures included: `AppError`s by their status and message, invalid
    forms as 422 naming the fields, a database outage as 503 (retry), a bug as 500 (logged, with the request id),
    a missing or ended session as a redirect to sign in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired as exc:
                response = sign_in_redirect(request, exc.ended)
            except Unauthenticated:
                response = sign_in_redirect(request, ended=True)
            except AppError as exc:
                title = _TITLES.get(exc.status_code, "Something went wrong")
                response = error_page(request, exc.status_code, title, exc.message, exc.headers)
            except RequestValidationError as exc:
                response = error_page(request, 422, _TITLES[422], _invalid_form(exc))
            except Exception as exc:
                if not database_unavailable(exc):
                    log.exception("console.unhandled_error", method=request.method, path=request.url.path)
                    message = "Something went wrong on the server; the request id identifies it in the server log."
                    response = error_page(request, 500, "Internal error", message)
                else:
                    log.warning("db.unavailable", method=request.method, path=request.url.path, error=repr(exc)[:300])
                    outage = DatabaseUnavailable()
                    response = error_page(request, 503, _TITLES[503], outage.message, outage.headers)
            response.headers.update(SECURITY_HEADERS)
            return response

        return handle
