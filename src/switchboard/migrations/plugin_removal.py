"""Take a plugin's migrations out of a database (`switchboard plugins remove`), so the server starts without it.

With the plugin's code loaded, its branch is downgraded to base: its own downgrades drop its tables. Without it,
nothing can run its downgrades; `forget` then deletes only its rows of `alembic_version`, leaving its tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.script import Script, ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.kit.errors import Conflict, NotFound
from switchboard.migrations.runner import (
    MIGRATION_LOCK_ID,
    alembic_config,
    check_known,
    current_heads,
    unknown_revisions,
)
from switchboard.plugins.spec import Plugin


@dataclass(frozen=True)
class Removal:
    plugin: str | None  # the plugin's name when its code was loaded (its revisions were downgraded)
    revisions: list[str]  # what is no longer applied (downgraded), or the alembic_version rows deleted (forgotten)
    forgotten: bool


def _revisions_of(script: ScriptDirectory, plugin: Plugin) -> list[Script]:
    if plugin.migrations is None:
        return []
    folder = plugin.migrations.resolve()
    return [r for r in script.walk_revisions() if r.path and Path(r.path).resolve().is_relative_to(folder)]


def _loaded(plugins: list[Plugin], script: ScriptDirectory, name: str) -> Plugin | None:
    """The loaded plugin called `name`, or whose revision `name` is."""
    for plugin in plugins:
        if plugin.name == name or name in {r.revision for r in _revisions_of(script, plugin)}:
            return plugin
    return None


def _down_revisions(revision: Script) -> set[str]:
    down = revision.down_revision
    return set() if down is None else {down} if isinstance(down, str) else set(down)


def _applied(script: ScriptDirectory, connection: Connection) -> set[str]:
    return {r.revision for r in script.iterate_revisions(tuple(current_heads(connection)), "base")}


def _downgrade(plugin: Plugin, plugins: list[Plugin], script: ScriptDirectory, connection: Connection) -> Removal:
    own = _revisions_of(script, plugin)
    names = {r.revision for r in own}
    for revision in own:
        outside = _down_revisions(revision) - names
        if outside:
            # `root@base` would then walk into revisions that are not the plugin's (the core's, say).
            raise Conflict(
                f"plugin {plugin.name}'s revision {revision.revision} continues {', '.join(sorted(outside))}, "
                "which is not the plugin's: its downgrade would remove more than the plugin; remove it by hand"
            )
    before = _applied(script, connection)
    if not names & before:
        return Removal(plugin.name, [], forgotten=False)
    config = alembic_config(plugins)
    config.attributes["connection"] = connection
    for root in (r for r in own if not _down_revisions(r)):
        command.downgrade(config, f"{root.revision}@base")
    return Removal(plugin.name, sorted(before - _applied(script, connection)), forgotten=False)


def _forget(script: ScriptDirectory, connection: Connection, name: str, forget: bool) -> Removal:
    unknown = unknown_revisions(script, current_heads(connection))
    # A plugin's revisions are named after it (`notes_0001`) in the examples: its name finds them too.
    matching = [r for r in unknown if r == name or r.startswith(f"{name}_")]
    if not matching:
        also = f"; the database's revisions no loaded plugin has: {', '.join(unknown)}" if unknown else ""
        raise NotFound(f"no loaded plugin is called {name!r} and the database has no revision {name!r}{also}")
    if any(r.startswith("core_") for r in matching):
        raise Conflict(f"{', '.join(matching)} is Switchboard's own revision (from a newer version): not a plugin's")
    if not forget:
        raise Conflict(
            f"the code of revision {', '.join(matching)} is not loaded, so its downgrade cannot run. Load its plugin "
            "(SWITCHBOARD_PLUGINS=module:attr) and run this again to drop its tables, or add --forget to delete "
            "only its alembic_version rows (its tables and their data stay in the database)"
        )
    connection.execute(text("DELETE FROM alembic_version WHERE version_num = ANY(:rows)"), {"rows": matching})
    return Removal(None, matching, forgotten=True)


async def remove_plugin(engine: AsyncEngine, plugins: list[Plugin], name: str, *, forget: bool) -> Removal:
    """Downgrade the loaded plugin `name` (a plugin's name or one of its revisions) to base; or, when its code
    is not loaded and `forget` is set, delete its alembic_version rows. One transaction, under the migration lock."""
    script = ScriptDirectory.from_config(alembic_config(plugins))

    def run(connection: Connection) -> Removal:
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        plugin = _loaded(plugins, script, name)
        if plugin is None:
            return _forget(script, connection, name, forget)
        if forget:
            raise Conflict(
                f"plugin {plugin.name} is loaded: run this without --forget, and its downgrade drops its tables"
            )
        check_known(script, current_heads(connection))  # another plugin's missing code stops Alembic too
        return _downgrade(plugin, plugins, script, connection)

    async with engine.begin() as connection:
        return await connection.run_sync(run)
