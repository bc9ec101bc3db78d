"""POST /tasks's body: one object whose fields depend on `task_type`. The OpenAPI schema says so exactly (one
variant per type, no other fields), so clients and generators know that `schedule_expression` goes with
`scheduled` and `trigger_config` with `triggered`; the body is validated as the flat `TaskCreate` plus those
rules, so every error names the field itself (`schedule_expression`), not a variant."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from switchboard.kit.errors import not_json
from switchboard.platform_api.models import TaskType
from switchboard.platform_api.tasks.schemas import TaskCreate

COMMON = ("task_type", "prompt", "agent", "notification_config")
# Each variant: its task types, its own fields, which of those are required.
VARIANTS: list[tuple[tuple[TaskType, ...], tuple[str, ...], tuple[str, ...]]] = [
    ((TaskType.DELEGATION, TaskType.RESEARCH), (), ()),
    ((TaskType.SCHEDULED,), ("schedule_expression", "timezone"), ("schedule_expression",)),
    ((TaskType.TRIGGERED,), ("trigger_config",), ()),
]


def _inlined(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):  # the definition, with what the field says beside it (its description…)
            beside = {key: value for key, value in node.items() if key != "$ref"}
            return {**_inlined(definitions[ref.rsplit("/", 1)[-1]], definitions), **beside}
        return {key: _inlined(value, definitions) for key, value in node.items() if key != "$defs"}
    if isinstance(node, list):
        return [_inlined(item, definitions) for item in node]
    return node


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    options = [option for option in schema.get("anyOf", []) if option != {"type": "null"}]
    if len(options) != 1:
        return schema
    rest = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
    return {**options[0], **rest}


def request_body_schema() -> dict[str, Any]:
    full = TaskCreate.model_json_schema()
    properties = _inlined(full["properties"], full.get("$defs", {}))
    variants = []
    for types, own, required in VARIANTS:
        fields = {name: properties[name] for name in (*COMMON, *own)}
        fields["task_type"] = {**fields["task_type"], "enum": [t.value for t in types], "examples": [types[0].value]}
        for name in required:
            fields[name] = _not_null(fields[name])
        variants.append(
            {
                "type": "object",
                "title": f"TaskCreate ({', '.join(t.value for t in types)})",
                "properties": fields,
                "required": ["task_type", "prompt", *required],
                "additionalProperties": False,
            }
        )
    return {"oneOf": variants}


OPENAPI_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": request_body_schema()}},
    }
}


async def read_task_create(request: Request) -> TaskCreate:
    """The body as a `TaskCreate`; a body that is not one is the usual 422, each field named as sent."""
    raw = await request.body()
    try:
        data = json.loads(raw) if raw else None
    except ValueError as error:
        raise not_json(str(error)) from None
    try:
        return TaskCreate.model_validate(data)
    except ValidationError as invalid:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in invalid.errors(include_url=False)]
        raise RequestValidationError(errors, body=data) from None
