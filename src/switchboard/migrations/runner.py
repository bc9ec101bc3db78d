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

from switchboard.kit.errors import ServiceUnavailable
from switchboard.plugins.spec import Plugin

_HERE = Path(__file__).parent
# Any constant shared by every Switchboard process: concurrent starts take turns, the first one migrates.
MIGRATION_LOCK_ID = 0x5B_0001


class UnknownMigrations(ServiceUnavailable):
    """The database has revisions none of the loaded code provides: a plugin that was loaded once, no longer is."""

    def __init__(self, unknown: list[str]) -> None:
        self.unknown = unknown
        names = ", ".join(unknown)
        if any(revision.startswith("core_") for revision in unknown):
            message = (
                f"the database was migrated by a newer Switchboard (revision {names}): run that version, or a "
                "newer one, on it"
            )
        else:
            command_hint = f"switchboard plugins remove {unknown[0] if len(unknown) == 1 else 'REVISION'}"
            message = (
                f"the database has migrations of a plugin that is not loaded: revision {names}. Load that plugin "
                f"again (SWITCHBOARD_PLUGINS=module:attr, or install its package), or remove it: `{command_hint}`"
            )
        super().__init__(message)


def alembic_config(plugins: list[Plugin], url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.set_main_option("path_separator", "os")
    locations = [str(_HERE / "versions"), *(str(p.migrations) for p in plugins if p.migrations is not None)]
    config.set_main_option("version_locations", os.pathsep.join(locations))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def current_heads(connection: Connection) -> set[str]:
    """The revisions alembic_version holds: the tips of what is applied (ancestors of a tip are applied too)."""
    return set(MigrationContext.configure(connection).get_current_heads())


def unknown_revisions(script: ScriptDirectory, heads: set[str]) -> list[str]:
    """Applied revisions the loaded code does not have. Alembic cannot run anything past one of them (it fails
    with a long `Can't locate revision` traceback), so they are found first and named."""
    known = {revision.revision for revision in script.walk_revisions()}
    return sorted(heads - known)


def check_known(script: ScriptDirectory, heads: set[str]) -> None:
    unknown = unknown_revisions(script, heads)
    if unknown:
        raise UnknownMigrations(unknown)


async def upgrade(engine: AsyncEngine, plugins: list[Plugin]) -> None:
    config = alembic_config(plugins)
    script = ScriptDirectory.from_config(config)

    def run(connection: Connection) -> None:
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        check_known(script, current_heads(connection))
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def pending_heads(engine: AsyncEngine, plugins: list[Plugin]) -> set[str]:
    """Heads the code has that the database has not reached (empty when migrations are at head)."""
    script = ScriptDirectory.from_config(alembic_config(plugins))

    async with engine.connect() as connection:
        heads = await connection.run_sync(current_heads)
    check_known(script, heads)
    # The version table keeps only the tips; a revision another one depends on is applied too.
    applied = {revision.revision for revision in script.iterate_revisions(tuple(heads), "base")}
    return set(script.get_heads()) - applied
