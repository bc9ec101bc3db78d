"""The benchmark's database and context: a fresh database, migrated with a user, and the queries the
measurements share (emptying it between measurements, enqueueing runs, counting their outcomes).

The database is a fresh embedded PostgreSQL (temporary data dir), or, when SWITCHBOARD_BENCH_DATABASE_URL or
SWITCHBOARD_DATABASE_URL is set, a fresh database created on that server and dropped at the end.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench.agent import AGENT, PLUGIN_PATH, plugin
from switchboard.agents.registry import AgentRegistry
from switchboard.auth.principal import Principal, principal_of
from switchboard.kit.db import make_sessionmaker
from switchboard.kit.embedded_pg import EmbeddedPostgres
from switchboard.migrations import runner as migrations
from switchboard.plugins.loader import load_plugins
from switchboard.runs.schemas import RunCreate
from switchboard.runs.service import RunService
from switchboard.settings import Settings
from switchboard.users.service import UserService


@dataclass
class Context:
    url: str
    engine: AsyncEngine
    settings: Settings
    registry: AgentRegistry
    principal: Principal
    workdir: Path
    overrides: dict[str, str]


async def _autocommit(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@asynccontextmanager
async def bench_database(workdir: Path) -> AsyncIterator[tuple[str, str]]:
    """(url, description) of a fresh database, removed afterwards."""
    external = os.environ.get("SWITCHBOARD_BENCH_DATABASE_URL") or os.environ.get("SWITCHBOARD_DATABASE_URL")
    if external:
        server = make_url(Settings(_env_file=None, database_url=external).database_url or "")
        base = server.render_as_string(hide_password=False)
        name = f"switchboard_bench_{uuid.uuid4().hex[:8]}"
        await _autocommit(base, f'CREATE DATABASE "{name}"')
        where = f"{server.host}:{server.port or 5432}" if server.host else "Unix socket"
        try:
            yield server.set(database=name).render_as_string(hide_password=False), f"external PostgreSQL ({where})"
        finally:
            await _autocommit(base, f'DROP DATABASE "{name}" WITH (FORCE)')
    else:
        embedded = EmbeddedPostgres(workdir / "data")
        url = await asyncio.to_thread(embedded.acquire)
        try:
            yield url, "embedded PostgreSQL (Unix socket, fresh data dir)"
        finally:
            await asyncio.to_thread(embedded.release)


@asynccontextmanager
async def sibling_database(url: str, suffix: str) -> AsyncIterator[str]:
    """A second fresh database on the server of `url` (named after its database and `suffix`), dropped afterwards."""
    parsed = make_url(url)
    name = f"{parsed.database}_{suffix}"
    await _autocommit(url, f'CREATE DATABASE "{name}"')
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        await _autocommit(url, f'DROP DATABASE "{name}" WITH (FORCE)')


def bench_settings(url: str) -> Settings:
    # No tiers: the bench's one user is not rate-limited (bench-limiter measures that).
    return Settings(_env_file=None, database_url=url, plugins=[PLUGIN_PATH], tiers={})


async def prepare(url: str, workdir: Path, overrides: dict[str, str]) -> Context:
    settings = bench_settings(url)
    engine = create_async_engine(url)
    await migrations.upgrade(engine, load_plugins(settings))
    async with make_sessionmaker(engine)() as session:
        user = await UserService(session).create_user("bench@example.com", "Bench")
        await session.commit()
        principal = principal_of(user)
    registry = AgentRegistry(plugin().agents, settings)
    return Context(url, engine, settings, registry, principal, workdir, overrides)


async def reset(ctx: Context) -> None:
    async with ctx.engine.begin() as connection:
        await connection.execute(text("TRUNCATE runs, threads RESTART IDENTITY CASCADE"))
    async with ctx.engine.connect() as connection:
        await connection.execute(text("COMMIT"))
        await connection.execute(text("VACUUM ANALYZE"))


async def enqueue(ctx: Context, n: int, batch: int = 200) -> list[uuid.UUID]:
    """`n` runs on new threads, created as `POST /v1/runs` creates them, `batch` per transaction."""
    ids: list[uuid.UUID] = []
    sessions = make_sessionmaker(ctx.engine)
    for start in range(0, n, batch):
        async with sessions() as session:
            service = RunService(session, ctx.registry, ctx.settings)
            for i in range(start, min(n, start + batch)):
                run, _ = await service.create(ctx.principal, RunCreate(agent=AGENT, message=f"ping {i}"))
                ids.append(run.id)
            await session.commit()
    return ids


async def outcomes(ctx: Context, ids: Sequence[uuid.UUID]) -> dict[str, int]:
    """How many of the runs `ids` are in each status."""
    async with ctx.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT status, count(*) FROM runs WHERE id = ANY(CAST(:ids AS uuid[])) GROUP BY status"),
            {"ids": list(ids)},
        )
        return {str(status): int(count) for status, count in rows}


# Every run on a thread of its own, statuses spread as a busy day leaves them: mostly succeeded, some failed.
_INSERT_RUNS = """
WITH t AS (
    INSERT INTO threads (id, user_id, agent, turns)
    SELECT gen_random_uuid(), :user_id, (CAST(:agents AS text[]))[1 + n % cardinality(CAST(:agents AS text[]))], 1
    FROM generate_series(1, :n) AS n
    RETURNING id, agent
)
INSERT INTO runs (id, user_id, thread_id, turn, agent, status, input, multitask_strategy, created_at, updated_at,
                  finished_at)
SELECT gen_random_uuid(), :user_id, t.id, 1, t.agent,
       CASE WHEN row_number() OVER () <= :queued THEN 'queued'
            WHEN random() < 0.9 THEN 'succeeded' ELSE 'failed' END,
       'hello', 'enqueue', now() - random() * interval '1 day', now() - random() * interval '1 hour', now()
FROM t
"""


async def insert_runs(engine: AsyncEngine, user_id: int, agents: Sequence[str], n: int, queued: int) -> None:
    """`n` runs of the user over `agents` (`queued` of them still queued, the rest finished within the last day),
    inserted with SQL, then the tables analysed as a database that grew so would be."""
    params = {"user_id": user_id, "agents": list(agents), "n": n, "queued": queued}
    async with engine.begin() as connection:
        await connection.execute(text(_INSERT_RUNS), params)
    async with engine.connect() as connection:
        await connection.execute(text("COMMIT"))
        await connection.execute(text("VACUUM ANALYZE runs"))
        await connection.execute(text("VACUUM ANALYZE threads"))
