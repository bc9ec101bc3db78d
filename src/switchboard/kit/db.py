"""Engine, sessions and the database location (external URL or the embedded server)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from switchboard.kit.embedded_pg import EmbeddedPostgres
from switchboard.kit.errors import ServiceUnavailable
from switchboard.settings import Settings

# What PostgreSQL says when it cannot serve at all, as opposed to refusing a statement: class 08 (connection
# exceptions), class 57 (shutting down, starting up), too many connections.
_OUTAGES = (asyncpg.PostgresConnectionError, asyncpg.OperatorInterventionError, asyncpg.TooManyConnectionsError)


@dataclass
class Database:
    """The process's database: its URL, engine and session factory, and the embedded server it holds, if any."""

    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    embedded: EmbeddedPostgres | None = field(default=None)

    @classmethod
    def open(cls, settings: Settings, *, http: bool = False) -> Database:
        """`http`: the process serves the API (its pool is sized for requests too, see `Settings.db_pool`)."""
        embedded: EmbeddedPostgres | None = None
        url = settings.database_url
        if url is None:
            embedded = EmbeddedPostgres(settings.data_dir)
            url = embedded.acquire()
        pool_size, max_overflow = settings.db_pool(http=http)
        # No pre-ping: it cost a BEGIN/ROLLBACK round trip per checkout, on every request and run step. A connection
        # that went stale (PostgreSQL restarted) fails on first use instead; SQLAlchemy then invalidates the
        # whole pool, and that one failure is an outage like any other (503 with Retry-After; a worker gives its
        # run back): the next checkout connects afresh.
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        return cls(url=url, engine=engine, sessions=make_sessionmaker(engine), embedded=embedded)

    async def close(self) -> None:
        await self.engine.dispose()
        if self.embedded is not None:
            self.embedded.release()

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """A unit of work that commits at the edge: on success here, never inside services."""
        async with self.sessions() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            await commit(session)
            for callback in session.info.pop(_ON_COMMIT, []):
                callback()


_ON_COMMIT = "switchboard_on_commit"


def on_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Call `callback` once the unit of work that `session` belongs to has committed (not if it rolls back)."""
    session.info.setdefault(_ON_COMMIT, []).append(callback)


class DatabaseUnavailable(ServiceUnavailable):
    """The database could not be reached; what the request asked for was not done."""

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message
            or "The database is unavailable (restarting or unreachable); nothing was changed. Retry in a moment.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


class CommitUncertain(DatabaseUnavailable):
    """The connection was lost while committing: the work may or may not have been saved."""

    def __init__(self) -> None:
        super().__init__(
            "The database connection was lost while saving: the request may or may not have taken effect. Check "
            "before retrying, or retry with the same Idempotency-Key header, which makes a run-creating request "
            "safe to repeat."
        )


RETRY_AFTER_SECONDS = 2


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database could not serve (down, restarting, connection lost, pool or server
    full), rather than a statement it refused or a bug."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.TimeoutError):  # no connection free in the pool in time
        return True
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, _OUTAGES) or (isinstance(current, OSError) and _raised_by_the_driver(current)):
            return True
        pending += [current.__cause__, current.__context__, getattr(current, "orig", None)]
    return False


def _raised_by_the_driver(exc: BaseException) -> bool:
    """An OSError (refused, reset, no socket file, no such host) raised while the driver talked to the server,
    not one of a tool's own (a missing file is not an outage)."""
    frame = exc.__traceback__
    while frame is not None:
        if "asyncpg" in frame.tb_frame.f_code.co_filename:
            return True
        frame = frame.tb_next
    return False


async def commit(session: AsyncSession) -> None:
    """Commit; a connection lost during the commit is reported as such (the outcome is unknown)."""
    try:
        await session.commit()
    except Exception as exc:
        if database_unavailable(exc):
            raise CommitUncertain from exc
        raise


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: response models are built from objects after the commit.
    return async_sessionmaker(engine, expire_on_commit=False)


def safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
