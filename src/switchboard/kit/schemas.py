"""Shared schema pieces: the base of response schemas built from ORM rows, and field types with the bounds
PostgreSQL needs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict


class FromRow(BaseModel):
    """A response schema read from an ORM object's attributes (`Model.model_validate(row)`). A field named
    differently from its column says so with `validation_alias`; a derived one is a `computed_field`."""

    model_config = ConfigDict(from_attributes=True, validate_by_name=True, validate_by_alias=True)


METADATA_MAX_BYTES = 16 * 1024


def _bounded_json(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
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


Timestamp = Annotated[datetime, AfterValidator(_storable_time)]
"""A point in time, in UTC (a time without an offset is taken as UTC)."""
