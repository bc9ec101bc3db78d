"""What /openapi.json says beyond what FastAPI writes, worked out in one place from the routes themselves, so that
a route added later is documented with no effort of its own.

**Error statuses.** Each operation documents those its definition implies:
- every operation: 422 (the request guard refuses a NUL in any query parameter; FastAPI any invalid parameter)
  and 500 (a bug, still in the error shape);
- with a request body: 400 (not JSON), 408 (too slow to arrive) and 413 (too large), from the request guard;
- with a path parameter: 404 (it names nothing of the caller's);
- whatever the operation's dependencies, or its endpoint, declare with `kit.errors.raises`: 401 for the API
  key, 403 for admin routes, 503 where the database is used.
What a route declares itself (`responses=` with its own description) is kept. Every error response is
documented with the one error shape as `application/json`, also where success is an event stream (FastAPI would
otherwise document it under the stream's media type).

**Parameters** are strings on the wire, present or absent: FastAPI's `anyOf: [<type>, null]` for an optional
one becomes `<type>` (absence is `required: false`), which is what a client (or a fuzzer) can actually send.

**Values known only once the app is made** (its agents' names) become the `enum` of the schemas marked for them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.security.base import SecurityBase

from switchboard.kit.errors import (
    AppError,
    BadRequest,
    ErrorResponse,
    NotFound,
    PayloadTooLarge,
    RequestTimeout,
    Unauthenticated,
    ValidationFailed,
    declared_errors,
)

ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorResponse"}

# What each status means wherever it is documented without a description of the route's own.
DESCRIPTIONS: dict[int, str] = {
    400: "`bad_request`: the body is not JSON, or a value this route does not take.",
    401: "`authentication_error`: missing, invalid or revoked API key.",
    403: "`permission_denied`: this key may not do this.",
    404: "`not_found`: no such object of yours.",
    408: "`request_timeout`: the body did not arrive within SWITCHBOARD_BODY_TIMEOUT_SECONDS.",
    409: "`conflict`.",
    413: "`payload_too_large`: the body (SWITCHBOARD_MAX_BODY_BYTES) or a message (SWITCHBOARD_MAX_PROMPT_CHARS) "
    "is too large.",
    422: "`validation_error`: invalid request; `details` names each field.",
    500: "`internal_error`: a bug; the request id identifies it in the server log.",
    503: "`unavailable`: the database is unavailable (restarting or unreachable); retry after `Retry-After`.",
}
EVERY_OPERATION: tuple[type[AppError], ...] = (ValidationFailed,)
WITH_BODY: tuple[type[AppError], ...] = (BadRequest, RequestTimeout, PayloadTooLarge, ValidationFailed)
WITH_PATH_PARAMETERS: tuple[type[AppError], ...] = (NotFound,)
INTERNAL_ERROR = 500


def complete_openapi(app: FastAPI, values: dict[str, list[str]]) -> None:
    """Have `app.openapi()` amend FastAPI's schema once, when it is first made. `values`: for each mark
    (`json_schema_extra={mark: True}` on a field), the values that field takes on this server."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()  # cached by FastAPI in app.openapi_schema: amended once, here
            _document_errors(app, schema)
            _without_null_parameters(schema)
            _fill_values(schema, values)
            return schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def statuses(route: RouteContext) -> set[int]:
    """The error statuses an operation can answer, from its definition."""
    errors = list(EVERY_OPERATION)
    # A route may read and document its body itself (`openapi_extra={"requestBody": …}`): it still has one.
    if route.body_field is not None or "requestBody" in (route.openapi_extra or {}):
        errors += WITH_BODY
    if route.dependant.path_params:
        errors += WITH_PATH_PARAMETERS
    for call in _calls(route.dependant):
        errors += declared_errors(call)
        if isinstance(call, SecurityBase):
            errors.append(Unauthenticated)
    return {error.status_code for error in errors} | {INTERNAL_ERROR}


def _document_errors(app: FastAPI, schema: dict[str, Any]) -> None:
    # The routes as included (with their router's prefix and dependencies), as FastAPI documents them.
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            for method in route.methods or ():
                _complete(schema["paths"][route.path_format][method.lower()], statuses(route))
    _add_error_schema(schema)


def _calls(dependant: Dependant) -> Iterator[object]:
    """The endpoint and every dependency it has, however deep."""
    if dependant.call is not None:
        yield dependant.call
    for dependency in dependant.dependencies:
        yield from _calls(dependency)


def _complete(operation: dict[str, Any], implied: set[int]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for code in implied:
        responses.setdefault(str(code), {})
    for status, response in responses.items():
        if status.isdigit() and int(status) >= 400:
            phrase = HTTPStatus(int(status)).phrase
            description = response.get("description", phrase)
            if description == phrase:  # FastAPI's default: say what it means here
                description = DESCRIPTIONS.get(int(status), phrase)
            responses[status] = {"description": description, "content": {"application/json": {"schema": ERROR_SCHEMA}}}
    operation["responses"] = dict(sorted(responses.items()))


def _add_error_schema(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in error_schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components.setdefault("ErrorResponse", error_schema)
    # FastAPI's default 422 model, replaced above by the error shape everywhere: not part of this API.
    if "#/components/schemas/HTTPValidationError" not in json.dumps(schema["paths"]):
        components.pop("HTTPValidationError", None)
        if "#/components/schemas/ValidationError" not in json.dumps(components):
            components.pop("ValidationError", None)
    schema["components"]["schemas"] = dict(sorted(components.items()))


def _without_null_parameters(schema: dict[str, Any]) -> None:
    for operations in schema["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                branches = parameter.get("schema", {}).get("anyOf", [])
                kept = [branch for branch in branches if branch != {"type": "null"}]
                if len(branches) == 2 and len(kept) == 1:
                    outer = {key: value for key, value in parameter["schema"].items() if key != "anyOf"}
                    parameter["schema"] = {**kept[0], **outer}


def _fill_values(node: Any, values: dict[str, list[str]]) -> None:
    if isinstance(node, dict):
        for mark, known in values.items():
            if node.pop(mark, False) and known:
                node["enum"] = known
        for child in node.values():
            _fill_values(child, values)
    elif isinstance(node, list):
        for child in node:
            _fill_values(child, values)
