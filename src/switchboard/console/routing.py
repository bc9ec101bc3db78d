"""How console routes answer when something goes wrong: as a page (or, to htmx, a message in the page's
flash area), never as the API's JSON, and a signed-out visitor is sent to sign in."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from switchboard.console.rendering import templates
from switchboard.kit.errors import AppError, Unauthenticated
from switchboard.kit.request_context import current_request_id

SIGN_IN_PATH = "/console/sign-in"


class SignInRequired(Exception):
    """No console session (or it expired): the visitor is sent to sign in, then back here."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def sign_in_redirect(request: Request, message: str = "") -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if is_htmx(request):  # a partial update cannot follow a redirect into the page: htmx navigates instead
        target = request.headers.get("HX-Current-URL", target)
    location = f"{SIGN_IN_PATH}?next={quote(target, safe='')}"
    if message:
        location += f"&reason={quote(message, safe='')}"
    if is_htmx(request):
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


class ConsoleRoute(APIRoute):
    """An APIRoute whose failures are pages: `AppError`s by their status and message, invalid forms as 422
    naming the fields, a missing session as a redirect to sign in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as exc:
                return sign_in_redirect(request, exc.message)
            except Unauthenticated as exc:
                return sign_in_redirect(request, exc.message)
            except AppError as exc:
                title = _TITLES.get(exc.status_code, "Something went wrong")
                return error_page(request, exc.status_code, title, exc.message, exc.headers)
            except RequestValidationError as exc:
                problems = [
                    f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'form'}: {e.get('msg')}" for e in exc.errors()
                ]
                return error_page(request, 422, _TITLES[422], "; ".join(problems[:5]))

        return handle
