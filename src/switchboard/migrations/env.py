"""Alembic environment. Runs on a connection handed over by `switchboard.migrations.runner` (which holds an
advisory lock so concurrent starts migrate once), or, for the `alembic` command line, on the configured URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from switchboard.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_from_url(url: str) -> None:
    async def go() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(_run)
        await engine.dispose()

    asyncio.run(go())


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    _run_from_url(config.get_main_option("sqlalchemy.url") or "")
