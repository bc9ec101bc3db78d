"""The migrations produce exactly the tables the models declare (core and the demo plugin's)."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, MetaData, String, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import switchboard.demo.models as demo_models
from switchboard.models import Base


def on_connection(url: str, work: Any) -> Any:
    async def go() -> Any:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_demo_models_are_on_the_core_metadata() -> None:
    assert demo_models.Order.metadata is Base.metadata
    assert {"users", "api_keys", "threads", "thread_messages", "request_logs", "orders"} <= set(Base.metadata.tables)


def differences(url: str, metadata: MetaData) -> list[Any]:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        return list(compare_metadata(context, metadata))

    result: list[Any] = on_connection(url, diff)
    return result


def test_autogenerate_finds_no_difference(migrated_url: str) -> None:
    assert differences(migrated_url, Base.metadata) == []


def test_autogenerate_would_notice_a_difference(migrated_url: str) -> None:
    """The comparison above is live: a column the migrations lack shows up."""
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["users"].append_column(Column("nickname", String(50)))
    found = differences(migrated_url, changed)
    assert [(op[0], op[2], op[3].name) for op in found] == [("add_column", "users", "nickname")]


def test_tables_are_the_models_tables_plus_alembic_version(migrated_url: str) -> None:
    def tables(connection: Connection) -> set[str]:
        return set(inspect(connection).get_table_names())

    assert on_connection(migrated_url, tables) == set(Base.metadata.tables) | {"alembic_version"}
