"""Keyset pagination: `?limit=&cursor=`; responses carry `next_cursor` (null on the last page).

A cursor is the sort key of the last item, base64-encoded JSON: opaque to clients, stable under inserts."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from switchboard.kit.errors import ValidationFailed

LimitParam = Annotated[int, Query(ge=1, le=100, description="Items per page (1-100).")]
CursorParam = Annotated[
    str | None, Query(max_length=500, description="`next_cursor` from the previous page; omit for the first page.")
]


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values), default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValidationFailed("cursor is not valid: pass next_cursor from the previous page unchanged") from None
    if not isinstance(values, list) or len(values) != arity:
        raise ValidationFailed("cursor is not valid: pass next_cursor from the previous page unchanged")
    return values


def encode_time_id_cursor(at: datetime, item_id: uuid.UUID) -> str:
    """The cursor of lists ordered by a timestamp, then an id (newest first)."""
    return encode_cursor(at.isoformat(), str(item_id))


def decode_time_id_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    at, item_id = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(at), uuid.UUID(item_id)
    except (TypeError, ValueError):
        raise ValidationFailed("cursor is not valid: pass next_cursor unchanged") from None
