"""The base of response schemas built from ORM rows."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FromRow(BaseModel):
    """A response schema read from an ORM object's attributes (`Model.model_validate(row)`). A field named
    differently from its column says so with `validation_alias`; a derived one is a `computed_field`."""

    model_config = ConfigDict(from_attributes=True, validate_by_name=True, validate_by_alias=True)
