"""Keyset pagination: `?limit=&cursor=`; responses carry `next_cursor` (null on the last page).

A page is the rows after the last one of the previous page in a fixed order of columns (the last being unique,
such as an id). The cursor is that row's values of those columns, base64-encoded JSON: opaque to clients, and
stable when rows are added meanwhile."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import BigInteger, Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from switchboard.kit.errors import ValidationFailed

LimitParam = Annotated[int, Query(ge=1, le=100, description="Items per page (1-100).")]
CursorParam = Annotated[
    str | None, Query(max_length=500, description="`next_cursor` from the previous page; omit for the first page.")
]

T = TypeVar("T")
R = TypeVar("R")

INVALID = "cursor is not valid: pass next_cursor from the previous page unchanged"


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
        raise ValidationFailed(INVALID) from None
    if not isinstance(values, list) or len(values) != arity:
        raise ValidationFailed(INVALID)
    return values


def _encoded(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _decoded(value: Any, column: InstrumentedAttribute[Any]) -> Any:
    """A cursor value as the column's type, within what the column can hold (or ValueError/TypeError)."""
    kind = column.type.python_type
    if kind is datetime:
        at = datetime.fromisoformat(value)
        if at.tzinfo is None:
            raise ValueError("a time without an offset")
        return at.astimezone(UTC)  # OverflowError at the calendar's edges: a ValueError
    if kind is uuid.UUID:
        return uuid.UUID(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        bits = 64 if isinstance(column.type, BigInteger) else 32
        if -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
            return value
    raise ValueError(f"not a {kind.__name__} this column can hold")


async def keyset_page(
    session: AsyncSession,
    query: Select[R],
    columns: Sequence[InstrumentedAttribute[Any]],
    *,
    limit: int,
    cursor: str | None,
    descending: bool = False,
) -> tuple[list[R], str | None]:
    """One page of `query`'s rows ordered by `columns` (all descending or all ascending), and the cursor of the
    next page (None on the last). A malformed cursor is a 422."""
    if cursor is not None:
        values = decode_cursor(cursor, len(columns))
        try:
            after = [_decoded(value, column) for value, column in zip(values, columns, strict=True)]
        except (TypeError, ValueError, AttributeError, OverflowError):
            raise ValidationFailed(INVALID) from None
        key, bound = tuple_(*columns), tuple_(*after)
        query = query.where(key < bound if descending else key > bound)
    order = [column.desc() if descending else column.asc() for column in columns]
    rows = list(await session.scalars(query.order_by(*order).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor(*(_encoded(getattr(last, column.key)) for column in columns))
