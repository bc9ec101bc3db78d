"""Shared schema pieces: the base of response schemas built from ORM rows, and field types with the bounds
PostgreSQL needs."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


class FromRow(BaseModel):
    """A response schema read from an ORM object's attributes (`Model.model_validate(row)`). A field named
    differently from its column says so with `validation_alias`; a derived one is a `computed_field`."""

    model_config = ConfigDict(from_attributes=True, validate_by_name=True, validate_by_alias=True)


def _json_number(value: Any) -> Any:
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON number (not a string, nor true or false)")
    return value


ExactNumber = BeforeValidator(_json_number)
"""On a number in a request body: a JSON number only, as its schema says. Pydantic would take `true` as 1 and "5"
as 5 (a request the schema calls invalid, accepted). Not for query or path parameters, which are text. Put it
after any bounds, `Annotated[int, Field(ge=1), ExactNumber]`, or the schema shows them as `ge`, not `minimum`."""

# The id of a row with a `bigint` identity (a user). Bounded at the largest integer every JSON reader holds
# exactly (2**53 - 1, far below bigint's): beyond bigint PostgreSQL cannot even be asked (that was a 500), and
# bounds near 2**63 are rounded by readers that use floats, which then disagree on what is valid.
RowId = Annotated[int, Field(ge=1, le=2**53 - 1)]

METADATA_MAX_BYTES = 16 * 1024


def json_bytes(value: Any) -> int:
    """How large `value` is as compact JSON, in bytes: what the size limits on free-form JSON count."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _bounded_json(value: dict[str, Any]) -> dict[str, Any]:
    size = json_bytes(value)
    if size > METADATA_MAX_BYTES:
        raise ValueError(f"is {size} bytes as JSON; the limit is {METADATA_MAX_BYTES}")
    return value


Metadata = Annotated[dict[str, Any], AfterValidator(_bounded_json)]
"""Free-form JSON kept with an object and returned as is: at most 16 KiB."""


def _storable_time(value: datetime) -> datetime:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        return aware.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the range of dates that can be compared (years 1 to 9999 in UTC)") from None


_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _not_a_number(value: Any) -> Any:
    # Pydantic would take 0.5 or "1700000000" as seconds since 1970; the API documents ISO 8601 times.
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("must be an ISO 8601 time such as 2026-01-31T12:00:00Z, not a number")
    return value


Timestamp = Annotated[datetime, BeforeValidator(_not_a_number), AfterValidator(_storable_time)]
"""A point in time as ISO 8601, in UTC (a time without an offset is taken as UTC)."""


class Patch(BaseModel):
    """A PATCH body: only the fields given change. A field that cannot be empty may be left out but not sent as
    null (422 naming it); `NULLABLE` lists the fields where null means "none" (no end, no targets…). Fields are
    typed `X | None = None` (left out: None), and the schema offers null only for the `NULLABLE` ones."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.NULLABLE:
            raise ValueError("may not be null (leave it out to keep the current value)")
        return value

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        properties = handler.resolve_ref_schema(schema).get("properties", {})
        for name, field in properties.items():
            options = field.get("anyOf")
            if name in cls.NULLABLE or not options:
                continue
            kept = [option for option in options if option != {"type": "null"}]
            del field["anyOf"]
            if len(kept) == 1:
                field.update(kept[0])
            else:
                field["anyOf"] = kept
        return schema
