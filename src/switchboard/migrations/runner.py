"""Apply and inspect migrations: the core's revisions plus each plugin's own branch."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.plugins.spec import Plugin

_HERE = Path(__file__).parent
# Any constant shared by every Switchboard process: concurrent starts take turns, the first one migrates.
_MIGRATION_LOCK_ID = 0x5B_0001


def alembic_config(plugins: list[Plugin], url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.set_main_option("path_separator", "os")
    locations = [str(_HERE / "versions"), *(str(p.migrations) for p in plugins if p.migrations is not None)]
    config.set_main_option("version_locations", os.pathsep.join(locations))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(engine: AsyncEngine, plugins: list[Plugin]) -> None:
    config = alembic_config(plugins)

    def run(connection: Connection) -> None:
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def pending_heads(engine: AsyncEngine, plugins: list[Plugin]) -> set[str]:
    """Heads the code has that the database has not reached (empty when migrations are at head)."""
    script = ScriptDirectory.from_config(alembic_config(plugins))

    def current(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    async with engine.connect() as connection:
        current_heads = await connection.run_sync(current)
    # The version table keeps only the tips; a revision another one depends on is applied too.
    applied = {revision.revision for revision in script.iterate_revisions(tuple(current_heads), "base")}
    return set(script.get_heads()) - applied
