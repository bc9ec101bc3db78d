"""What a server costs while the chat bench loads it: the CPU time of its process and of the PostgreSQL backends
serving its database (from /proc, so only when PostgreSQL runs on this machine), and the database's committed and
rolled-back transactions (pg_stat_database).

The monitoring connection is to another database of the same server (`postgres`), so its own queries are not
counted. PostgreSQL publishes a backend's transaction counts when the backend goes idle, at most once a second;
what is still pending then is published up to 10 s later (PGSTAT_IDLE_INTERVAL), hence `settle` before reading.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import make_url

from bench.cpu import cpu_seconds

STATS_SETTLE_SECONDS = 11.0  # PGSTAT_IDLE_INTERVAL (10 s) and a margin


def asyncpg_dsn(url: str, database: str | None = None) -> str:
    """A SQLAlchemy `postgresql+asyncpg://` URL as asyncpg's DSN, optionally naming another database."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def database_name(url: str) -> str:
    return make_url(url).database or ""


class Monitor:
    """One connection to the server's `postgres` database, shared by the meters (one query at a time)."""

    def __init__(self, connection: asyncpg.Connection, local: bool) -> None:
        self.connection = connection
        self.local = local  # PostgreSQL's processes are this machine's: their CPU can be read
        self.lock = asyncio.Lock()

    @classmethod
    async def connect(cls, url: str) -> Monitor:
        connection = await asyncpg.connect(asyncpg_dsn(url, "postgres"))
        return cls(connection, cpu_seconds(await connection.fetchval("SELECT pg_backend_pid()")) is not None)

    async def close(self) -> None:
        await self.connection.close()

    async def backends(self, database: str) -> list[int]:
        async with self.lock:
            rows = await self.connection.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
        return [int(row["pid"]) for row in rows]

    async def transactions(self, database: str) -> tuple[int, int]:
        """(commits, rollbacks) so far."""
        async with self.lock:
            row = await self.connection.fetchrow(
                "SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = $1", database
            )
        assert row is not None
        return int(row["xact_commit"]), int(row["xact_rollback"])


@dataclass(frozen=True)
class Cpu:
    """CPU seconds used since the meter started: the server process's, and its database's backends' (None when
    they are not local processes)."""

    server: float
    postgres: float | None

    def __sub__(self, other: Cpu) -> Cpu:
        postgres = None if self.postgres is None or other.postgres is None else self.postgres - other.postgres
        return Cpu(self.server - other.server, postgres)


class Meter:
    """The CPU and transactions of one server process and its database. While started, it looks for new backends
    twice a second, so backends that come and go are counted (those born after the start from zero)."""

    def __init__(self, monitor: Monitor, pid: int, database: str) -> None:
        self.monitor = monitor
        self.pid = pid
        self.database = database
        self._base: dict[int, float] = {}  # backend pid → its CPU seconds when first seen (0 if born since)
        self._last: dict[int, float] = {}
        self._gone = 0.0  # CPU of backends whose pid was reused by a later one
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._discover(first=True)
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _discover(self, first: bool) -> None:
        for pid in await self.monitor.backends(self.database):
            if pid in self._base:
                continue
            seen = cpu_seconds(pid)
            if seen is None:
                continue  # gone already
            self._base[pid] = seen if first else 0.0
            self._last[pid] = seen

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            await self._discover(first=False)
            self._read_backends()

    def _read_backends(self) -> float:
        for pid, last in self._last.items():
            now = cpu_seconds(pid)
            if now is None:
                continue  # exited: keep its last reading
            if now < last:  # a new process with a reused pid
                self._gone += last - self._base[pid]
                self._base[pid] = 0.0
            self._last[pid] = now
        return self._gone + sum(self._last[pid] - self._base[pid] for pid in self._last)

    def cpu(self) -> Cpu:
        server = cpu_seconds(self.pid)
        if server is None:
            raise RuntimeError(f"the server process {self.pid} is gone")
        backends = self._read_backends()
        return Cpu(server, backends if self.monitor.local else None)

    async def transactions(self, settle: float) -> tuple[int, int]:
        """(commits, rollbacks) so far, once what backends still hold has been published."""
        await asyncio.sleep(settle)
        return await self.monitor.transactions(self.database)
