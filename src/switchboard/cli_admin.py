"""`switchboard --version`, users, API keys and `plugins remove`, registered on the app and command groups of
`cli.py` (which imports this module last)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from switchboard import __version__
from switchboard.cli import _require_migrated, _settings, _with_db, app, keys_app, users_app

if TYPE_CHECKING:  # the rest is imported in the commands, as in cli.py: `--help` stays fast
    from switchboard.kit.db import Database
    from switchboard.migrations.plugin_removal import Removal
    from switchboard.models import ApiKey, User

plugins_app = typer.Typer(help="Manage plugins' data in the database.", no_args_is_help=True)
app.add_typer(plugins_app, name="plugins")

T = TypeVar("T")
PAGE = 100


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"switchboard {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Switchboard: a self-hosted server for Pydantic AI agents."""


async def _every(page: Callable[[str | None], Awaitable[tuple[list[T], str | None]]]) -> list[T]:
    """All items of a keyset-paginated list, page after page."""
    items, cursor = await page(None)
    while cursor is not None:
        more, cursor = await page(cursor)
        items.extend(more)
    return items


def _time(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at is not None else "-"


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="The user's email (unique).")],
    name: Annotated[str, typer.Option(help="Display name.")],
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an admin.")] = False,
) -> None:
    """Create a user; prints the new user's id."""
    from switchboard.users.service import UserService

    settings = _settings()

    async def work(db: Database) -> int:
        await _require_migrated(db, settings)
        async with db.unit_of_work() as session:
            user = await UserService(session).create_user(email, name, admin=admin, tier=settings.default_tier)
            return user.id

    typer.echo(_with_db(settings, work))


@keys_app.command("create")
def keys_create(
    email: Annotated[str, typer.Option(help="The user the key belongs to.")],
    name: Annotated[str, typer.Option(help="A label for the key.")] = "default",
    scope: Annotated[
        list[str] | None,
        typer.Option(help="Narrow the key to this scope (repeatable): runs:write, tools:call, admin. Default: all."),
    ] = None,
) -> None:
    """Create an API key; prints only the key on stdout (it is shown once)."""
    from switchboard.auth.scopes import Scope
    from switchboard.users.service import UserService

    try:
        scopes = None if scope is None else [Scope(value) for value in scope]
    except ValueError:
        raise typer.BadParameter(f"--scope must be one of {', '.join(Scope)}", param_hint="--scope") from None

    settings = _settings()

    async def work(db: Database) -> str:
        await _require_migrated(db, settings)
        async with db.unit_of_work() as session:
            service = UserService(session)
            issued = await service.issue_key(await service.get_by_email(email), name, scopes=scopes)
            return issued.key

    typer.echo(_with_db(settings, work))


@keys_app.command("revoke")
def keys_revoke(prefix: Annotated[str, typer.Argument(help="The key's visible prefix, e.g. sb_AbCdEfGh1")]) -> None:
    """Revoke an API key by its prefix; requests with it get 401 from now on."""
    from switchboard.users.service import UserService

    settings = _settings()

    async def work(db: Database) -> None:
        await _require_migrated(db, settings)
        async with db.unit_of_work() as session:
            await UserService(session).revoke_key(prefix)

    _with_db(settings, work)
    typer.echo(f"revoked {prefix}", err=True)


@users_app.command("list")
def users_list() -> None:
    """List every user: id, email, role, name, when created."""
    from switchboard.users.service import UserService

    settings = _settings()

    async def work(db: Database) -> list[list[str]]:
        await _require_migrated(db, settings)
        async with db.unit_of_work() as session:
            users: list[User] = await _every(lambda cursor: UserService(session).list_users(PAGE, cursor))
            return [[str(u.id), u.email, u.role, u.name, _time(u.created_at)] for u in users]

    _table(["ID", "EMAIL", "ROLE", "NAME", "CREATED"], _with_db(settings, work))


@keys_app.command("list")
def keys_list(
    email: Annotated[str | None, typer.Option(help="Only this user's keys.")] = None,
) -> None:
    """List API keys (never the keys themselves): id, prefix, label, owner, created, last used, revoked."""
    from switchboard.users.service import UserService

    settings = _settings()

    async def work(db: Database) -> list[list[str]]:
        await _require_migrated(db, settings)
        async with db.unit_of_work() as session:
            service = UserService(session)
            user_id = (await service.get_by_email(email)).id if email is not None else None
            keys: list[ApiKey] = await _every(lambda cursor: service.list_keys(user_id, PAGE, cursor))
            users: list[User] = await _every(lambda cursor: service.list_users(PAGE, cursor))
            emails = {user.id: user.email for user in users}
            return [
                [
                    str(k.id),
                    k.prefix,
                    k.name,
                    emails.get(k.user_id, str(k.user_id)),
                    _time(k.created_at),
                    _time(k.last_used_at),
                    _time(k.revoked_at),
                ]
                for k in keys
            ]

    _table(["ID", "PREFIX", "NAME", "USER", "CREATED", "LAST USED", "REVOKED"], _with_db(settings, work))


@plugins_app.command("remove")
def plugins_remove(
    name: Annotated[str, typer.Argument(help="The plugin's name, or a revision of its migrations (e.g. notes_0001).")],
    forget: Annotated[
        bool,
        typer.Option(
            "--forget",
            help="When the plugin's code is gone: delete only its alembic_version rows. Its tables stay.",
        ),
    ] = False,
) -> None:
    """Take a plugin's migrations out of the database, so Switchboard starts without the plugin. With the plugin
    loaded (SWITCHBOARD_PLUGINS or its package), its downgrades run and drop its tables; without it, --forget."""
    from switchboard.migrations.plugin_removal import remove_plugin
    from switchboard.plugins.loader import load_plugins

    settings = _settings()

    async def work(db: Database) -> Removal:
        return await remove_plugin(db.engine, load_plugins(settings), name, forget=forget)

    removal = _with_db(settings, work)
    applied = ", ".join(removal.revisions)
    if removal.forgotten:
        typer.echo(
            f"forgot {applied}: its alembic_version rows are deleted. Its tables and their data are still in the "
            "database; drop them yourself if you do not want them (loading the plugin again would create them again "
            "and fail while they exist).",
            err=True,
        )
    elif not removal.revisions:
        typer.echo(f"plugin {removal.plugin} has no migrations applied in this database: nothing to remove", err=True)
    else:
        typer.echo(
            f"removed plugin {removal.plugin}: downgraded {applied} (its tables are dropped). Stop loading it "
            "(SWITCHBOARD_PLUGINS, or uninstall its package), or the next start applies its migrations again.",
            err=True,
        )
