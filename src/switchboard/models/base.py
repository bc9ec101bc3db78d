"""Declarative base shared by every table, core and plugins alike, and the column type of status enums."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import DateTime, Dialect, MetaData, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

E = TypeVar("E", bound=StrEnum)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True)}


class CreatedAt:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class EnumText(TypeDecorator[E], Generic[E]):
    """A `StrEnum` stored as plain text (a CHECK constraint lists the values): rows read back as the enum, so
    code compares with members, never with string literals."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


def sql_list(values: Iterable[StrEnum]) -> str:
    """`('a', 'b')`: enum values as an SQL list literal, in declaration order, for constraints, partial
    indexes and the queue's statements (literals, not parameters, so the planner can match partial indexes)."""
    ordered = sorted(values, key=lambda member: list(type(member).__members__.values()).index(member))
    return "(" + ", ".join(f"'{member.value}'" for member in ordered) + ")"
