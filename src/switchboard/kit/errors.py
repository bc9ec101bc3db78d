"""One error shape for every failure: `{"error": {"type", "message", "request_id", "details"?}}`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from switchboard.kit.request_context import current_request_id


class AppError(Exception):
    """A failure the client can act on. Subclasses fix the status and type; the message says what to fix."""

    status_code: ClassVar[int] = 400
    type: ClassVar[str] = "bad_request"

    def __init__(self, message: str, *, details: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers


class BadRequest(AppError):
    pass


class Unauthenticated(AppError):
    status_code = 401
    type = "authentication_error"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class PermissionDenied(AppError):
    status_code = 403
    type = "permission_denied"


class NotFound(AppError):
    status_code = 404
    type = "not_found"


class MethodNotAllowed(AppError):
    status_code = 405
    type = "method_not_allowed"

    @classmethod
    def of(cls, method: str, path: str, allowed: Iterable[str]) -> MethodNotAllowed:
        methods = sorted(allowed)
        return cls(
            f"{method} is not allowed on {path}: use {' or '.join(methods)}.", headers={"Allow": ", ".join(methods)}
        )


class Conflict(AppError):
    status_code = 409
    type = "conflict"


class RequestTimeout(AppError):
    status_code = 408
    type = "request_timeout"


class PayloadTooLarge(AppError):
    status_code = 413
    type = "payload_too_large"


class ValidationFailed(AppError):
    status_code = 422
    type = "validation_error"


class RateLimited(AppError):
    """Over a rate limit (`type` names it: `rate_limited`); `Retry-After` says when a request would succeed."""

    status_code = 429
    type = "rate_limited"


class BudgetExceeded(AppError):
    """A cost budget is spent; the message says which and when it resets."""

    status_code = 429
    type = "budget_exceeded"


class ToolTimedOut(AppError):
    """A tool called directly (`POST /v1/tools/{name}`) ran past its time limit."""

    status_code = 504
    type = "tool_timeout"


class ModelFailed(AppError):
    """The model (LLM) failed or misbehaved; the run is recorded as failed."""

    status_code = 502
    type = "model_error"


class RunFailed(AppError):
    """A run a request waited for failed for a reason other than the model (a limit, repeated worker loss…)."""

    status_code = 502
    type = "run_failed"


class ServiceUnavailable(AppError):
    status_code = 503
    type = "unavailable"


class RunTimedOut(AppError):
    """A run a request waited for hit its wall-clock limit."""

    status_code = 504
    type = "run_timed_out"


F = TypeVar("F", bound=Callable[..., Any])

RAISES_ATTRIBUTE = "__switchboard_raises__"


def raises(*errors: type[AppError]) -> Callable[[F], F]:
    """Declare the errors a dependency (or an endpoint) answers with: every operation that uses it documents
    their statuses in OpenAPI (see kit/openapi.py), so routes added later need no `responses=` of their own."""

    def mark(function: F) -> F:
        setattr(function, RAISES_ATTRIBUTE, (*getattr(function, RAISES_ATTRIBUTE, ()), *errors))
        return function

    return mark


def declared_errors(function: object) -> tuple[type[AppError], ...]:
    errors: tuple[type[AppError], ...] = getattr(function, RAISES_ATTRIBUTE, ())
    return errors


class ErrorBody(BaseModel):
    type: str
    message: str
    request_id: str | None = None
    details: Any = None


class ErrorResponse(BaseModel):
    """The shape of every error response."""

    error: ErrorBody


# For routers behind an API key. Every error, validation included, has one shape: the schema says so
# instead of FastAPI's default validation-error model. (kit/openapi.py now documents these for every route from
# its definition; a router may still name them.)
API_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing, invalid or revoked API key"},
    422: {"model": ErrorResponse, "description": "Invalid request; `details` names each field"},
}


def error_response(
    status_code: int, type_: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(type=type_, message=message, request_id=current_request_id(), details=details))
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status_code, headers=headers)


def app_error_response(exc: AppError) -> JSONResponse:
    return error_response(exc.status_code, exc.type, exc.message, exc.details, exc.headers)


def _field_name(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header"} and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _problem(err: Any) -> dict[str, str]:
    return {"field": _field_name(err.get("loc", ())), "message": str(err.get("msg", "invalid"))}


def not_json(reason: str) -> BadRequest:
    """The one answer to a body that is not JSON, wherever it is noticed (the request guard, or a route)."""
    return BadRequest(
        f"The request body is not valid JSON ({reason}). Send a JSON object with `Content-Type: application/json`.",
        details=[{"field": "body", "message": f"not valid JSON ({reason})"}],
    )


# The `type` of an HTTP error Starlette or FastAPI raises itself (an unknown route, a wrong method, a body it
# could not parse): the same types our own errors have for the same status.
_HTTP_TYPES: dict[int, str] = {
    error.status_code: error.type
    for error in (BadRequest, Unauthenticated, PermissionDenied, NotFound, Conflict, RequestTimeout, PayloadTooLarge)
} | {MethodNotAllowed.status_code: MethodNotAllowed.type}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return app_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        invalid_json = next((err for err in errors if err.get("type") == "json_invalid"), None)
        if invalid_json is not None:  # its loc is ("body", <character offset>), which names no field
            return app_error_response(not_json((invalid_json.get("ctx") or {}).get("error") or "unreadable"))
        problems = [_problem(err) for err in errors]
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
        return error_response(422, ValidationFailed.type, f"Invalid request: {summary}", problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        type_ = _HTTP_TYPES.get(exc.status_code, "http_error")
        message = str(exc.detail)
        if exc.status_code == 404:
            message = f"No route {request.method} {request.url.path}. See /docs for the API."
        return error_response(exc.status_code, type_, message, headers=getattr(exc, "headers", None))


def internal_error_response() -> JSONResponse:
    return error_response(500, "internal_error", "Internal error; the request id identifies it in the server log.")
