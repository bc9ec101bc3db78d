"""The `switchboard` command: serve, worker, migrate and demo data (`--version`, users, API keys and
`plugins remove` are in `cli_admin.py`; `chat` in `cli_chat.py`; `webhooks listen` in `cli_webhooks.py`).

Only typer is imported up front: FastAPI, SQLAlchemy, Pydantic AI, uvicorn and the app are imported inside the
commands that use them, so `switchboard --help` (and a typo) answers at once. Keep new imports there too."""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

if TYPE_CHECKING:
    from switchboard.kit.db import Database
    from switchboard.settings import Settings

app = typer.Typer(help="Switchboard: a self-hosted server for Pydantic AI agents.", no_args_is_help=True)
users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")

T = TypeVar("T")


def _settings() -> Settings:
    from switchboard.kit.logging import configure_logging
    from switchboard.settings import Settings

    settings = Settings()
    configure_logging(
        settings.log_level, settings.log_format, settings.secrets(), trace_ids=settings.otel_endpoint is not None
    )
    return settings


def _metrics_directory(settings: Settings) -> None:
    """Multiprocess metrics (`SWITCHBOARD_METRICS_DIR`): chosen before anything imports prometheus-client."""
    if settings.metrics_dir is not None:
        from switchboard.observability.multiprocess import use_directory

        try:
            use_directory(settings.metrics_dir)
        except OSError as exc:
            typer.echo(f"error: SWITCHBOARD_METRICS_DIR {settings.metrics_dir}: {exc.strerror or exc}", err=True)
            raise typer.Exit(1) from None


def _with_db(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Open the database (starting the embedded one if needed), do the work, release it."""
    import asyncio

    from switchboard.kit.db import Database
    from switchboard.kit.errors import AppError

    async def go() -> T:
        db = await asyncio.to_thread(Database.open, settings)
        try:
            return await work(db)
        finally:
            await db.close()

    try:
        return asyncio.run(go())
    except AppError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


async def _require_migrated(db: Database, settings: Settings) -> None:
    from switchboard.kit.errors import ServiceUnavailable
    from switchboard.migrations import runner as migrations
    from switchboard.plugins.loader import load_plugins

    pending = await migrations.pending_heads(db.engine, load_plugins(settings))
    if pending:
        raise ServiceUnavailable("the database is not migrated yet: run `switchboard migrate` first")


async def _migrate(db: Database, settings: Settings) -> None:
    from switchboard.migrations import runner as migrations
    from switchboard.plugins.loader import load_plugins

    await migrations.upgrade(db.engine, load_plugins(settings))


async def _seed(db: Database, settings: Settings, *, reset: bool = False) -> list[str]:
    from switchboard.plugins.loader import load_plugins
    from switchboard.plugins.spec import SeedContext

    lines: list[str] = []
    for plugin in load_plugins(settings):
        if plugin.seed is None:
            continue
        async with db.unit_of_work() as session:
            lines.extend(await plugin.seed(SeedContext(session=session, settings=settings, reset=reset)))
    return lines


@app.command()
def migrate() -> None:
    """Apply pending database migrations (the core's and every plugin's)."""
    settings = _settings()
    _with_db(settings, lambda db: _migrate(db, settings))
    typer.echo("migrations are at head", err=True)


@app.command()
def demo(
    reset: Annotated[
        bool,
        typer.Option(
            "--reset",
            help="First put the demo shop back as seeded (products, orders; the demo users' threads and runs "
            "deleted). Users and keys stay.",
        ),
    ] = False,
) -> None:
    """Seed the demo data (idempotent) and print an API key per demo user."""
    settings = _settings()

    async def work(db: Database) -> list[str]:
        await _migrate(db, settings)
        return await _seed(db, settings, reset=reset)

    lines = _with_db(settings, work)
    for line in lines:
        typer.echo(line)
    if reset and lines:
        typer.echo("the demo shop is back to its seeded state", err=True)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: SWITCHBOARD_HOST (127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Default: SWITCHBOARD_PORT (8000).")] = None,
    with_demo: Annotated[bool, typer.Option("--demo", help="Seed the demo data and print its keys first.")] = False,
    workers: Annotated[
        int | None,
        typer.Option(min=0, help="Worker loops in this process; 0 = API only. Default: SWITCHBOARD_WORKERS (1)."),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1, help="Runs each worker loop executes at once. Default: SWITCHBOARD_WORKER_CONCURRENCY (8)."
        ),
    ] = None,
) -> None:
    """Migrate, then serve the HTTP API, with embedded workers executing runs (see `switchboard worker`)."""
    settings = _with_worker_options(_settings(), workers, concurrency)
    _metrics_directory(settings)
    from switchboard.http_server import (
        SHUTDOWN_CONNECTIONS_SECONDS,
        DrainingServer,
        JsonErrorsH11Protocol,
        PortUnavailable,
        bind_sockets,
    )

    host, port = host or settings.host, port or settings.port
    try:
        sockets = bind_sockets(host, port)  # before the database, the demo keys and the workers
    except PortUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None

    import uvicorn

    from switchboard.app import create_app
    from switchboard.kit.embedded_pg import EmbeddedPostgres

    async def prepare(db: Database) -> list[str]:
        await _migrate(db, settings)
        return await _seed(db, settings) if with_demo else []

    # uvicorn re-raises the SIGTERM it handled once it has shut down; with the default action that kills the process
    # before the `finally` below releases (and so stops) the embedded PostgreSQL. Exit normally instead.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    # Hold the embedded server for the whole command, so it is not stopped between preparing and serving.
    embedded = EmbeddedPostgres(settings.data_dir) if settings.database_url is None else None
    if embedded is not None:
        embedded.acquire()
    try:
        for line in _with_db(settings, prepare):
            typer.echo(line)
        typer.echo(
            f"the console: http://{host}:{port}/console (sign in with an API key{' above' * with_demo})", err=True
        )
        config = uvicorn.Config(
            create_app(settings),
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            http=JsonErrorsH11Protocol,  # unparseable requests get the API's error shape too
            # Open waits answer at once when shutdown begins; this bounds whatever else keeps a connection open.
            timeout_graceful_shutdown=SHUTDOWN_CONNECTIONS_SECONDS,
        )
        DrainingServer(config).run(sockets=sockets)
    finally:
        for sock in sockets:
            sock.close()
        if embedded is not None:
            embedded.release()


def _with_worker_options(settings: Settings, workers: int | None, concurrency: int | None) -> Settings:
    update: dict[str, int] = {}
    if workers is not None:
        update["workers"] = workers
    if concurrency is not None:
        update["worker_concurrency"] = concurrency
    return settings.model_copy(update=update)


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="Runs executed at once. Default: SWITCHBOARD_WORKER_CONCURRENCY (8).")
    ] = None,
    drain: Annotated[bool, typer.Option("--drain", help="Exit once nothing is left to claim or running.")] = False,
) -> None:
    """Execute runs from the queue, without the HTTP API. Start as many as you like, on any machine that reaches
    the database; SIGTERM lets in-flight runs finish (SWITCHBOARD_WORKER_GRACE_SECONDS) and re-queues the rest."""
    settings = _with_worker_options(_settings(), None, concurrency)
    _metrics_directory(settings)
    from switchboard.engine.standalone import run_worker
    from switchboard.observability.otel import tracing_for
    from switchboard.plugins.loader import load_plugins

    tracing = tracing_for(settings)

    async def work(db: Database) -> None:
        await _require_migrated(db, settings)
        if tracing is not None:
            tracing.start()
            tracing.instrument_engine(db.engine)
        await run_worker(db, settings, load_plugins(settings), drain=drain)

    try:
        _with_db(settings, work)
    finally:
        if tracing is not None:
            tracing.shutdown()  # what is still buffered is sent


# Registers `--version`, the `users` and `keys` commands, `plugins remove` and `chat` on the app and groups above
# (imported for that effect, and last: it uses this module's helpers).
from switchboard import cli_admin, cli_chat, cli_runs, cli_schedules, cli_webhooks  # noqa: E402, F401


def main() -> None:
    app()


if __name__ == "__main__":
    main()
