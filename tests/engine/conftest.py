"""The engine level: the run engine's statements called directly on one `AsyncConnection`, inside a transaction
rolled back after each test. No HTTP, no worker, no subprocess; each test takes milliseconds.

The database is this level's own (`<session database>_engine_<uuid>` on the same server), migrated once per
session and dropped at the end: the HTTP tests truncate theirs, so it is not shared. Nothing is ever committed
to it, so every test starts from empty tables and sees only the rows it inserted."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import RowMapping, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from switchboard.engine import children, queue, transitions
from switchboard.engine.queue import Claimed, NewRun
from switchboard.migrations import runner as migrations
from switchboard.models import Run
from switchboard.models.runs import FINAL, MultitaskStrategy, RunStatus
from switchboard.plugins.loader import load_plugins
from tests.fixtures.database import execute_autocommit
from tests.fixtures.server import make_settings

AGENT = "support"
OWNER = "worker-a"
OTHER_OWNER = "worker-b"
LEASE_SECONDS = 30.0
USAGE: dict[str, Any] = {"requests": 1, "input_tokens": 10, "output_tokens": 5}


# --- the database, the engine and the per-test transaction ---


@pytest_asyncio.fixture(scope="session")
async def engine_database_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A migrated database of this level's own, next to the session's (unique per session: xdist workers too)."""
    base = make_url(database_url)
    name = f"{base.database}_engine_{uuid.uuid4().hex[:8]}"
    await execute_autocommit(database_url, f'CREATE DATABASE "{name}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        engine = create_async_engine(url)
        try:
            settings = make_settings(url, Path(tmp_path_factory.mktemp("engine-data")))
            await migrations.upgrade(engine, load_plugins(settings))
        finally:
            await engine.dispose()
        yield url
    finally:
        await execute_autocommit(database_url, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest_asyncio.fixture(scope="session")
async def engine(engine_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(engine_database_url, pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction that is rolled back after the test, whatever the test did."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest_asyncio.fixture
async def user(connection: AsyncConnection) -> int:
    """A user who owns the test's threads and runs."""
    return await add_user(connection)


# --- inserting what a test needs ---


async def add_user(connection: AsyncConnection) -> int:
    email = f"engine-{uuid.uuid4().hex[:12]}@example.com"
    result = await connection.execute(
        text("INSERT INTO users (email, name) VALUES (:email, :name) RETURNING id"), {"email": email, "name": "Engine"}
    )
    return int(result.scalar_one())


async def add_thread(connection: AsyncConnection, user_id: int, agent: str = AGENT) -> uuid.UUID:
    thread_id = uuid.uuid4()
    await connection.execute(
        text("INSERT INTO threads (id, user_id, agent) VALUES (:id, :user_id, :agent)"),
        {"id": thread_id, "user_id": user_id, "agent": agent},
    )
    return thread_id


async def add_run(
    connection: AsyncConnection, user_id: int, thread_id: uuid.UUID | None = None, agent: str = AGENT
) -> uuid.UUID:
    """A queued run, created by the real create statement (`queue.enqueue`); on a new thread unless given."""
    if thread_id is None:
        thread_id = await add_thread(connection, user_id, agent)
    run_id = uuid.uuid4()
    await queue.enqueue(
        connection,
        NewRun(
            id=run_id,
            user_id=user_id,
            thread_id=thread_id,
            turn=1,
            agent=agent,
            input="hello",
            multitask_strategy=MultitaskStrategy.ENQUEUE,
            metadata={},
            limits={},
            model_name="offline",
            request_id=None,
            acting_user_id=None,
        ),
    )
    return run_id


async def claim(
    connection: AsyncConnection, agents: Sequence[str] = (AGENT,), *, n: int = 100, owner: str = OWNER
) -> list[Claimed]:
    """Claim runs of agents that have no limit."""
    return await queue.claim(connection, owner=owner, n=n, lease_seconds=LEASE_SECONDS, free_agents=agents, groups=())


async def add_running_run(
    connection: AsyncConnection, user_id: int, agent: str = AGENT, owner: str = OWNER
) -> uuid.UUID:
    """A run on a new thread, claimed by `owner`. Add the runs meant to stay queued after it: the claim takes
    every queued run of the agent."""
    run_id = await add_run(connection, user_id, agent=agent)
    assert [c.run_id for c in await claim(connection, (agent,), owner=owner)] == [run_id]
    return run_id


async def add_paused_run(connection: AsyncConnection, user_id: int, agent: str = AGENT) -> uuid.UUID:
    """A run that was claimed and then paused for approvals (requires_action)."""
    run_id = await add_running_run(connection, user_id, agent)
    await transitions.pause(connection, run_id=run_id, owner=OWNER, usage=USAGE, events=())
    return run_id


async def add_run_in(connection: AsyncConnection, user_id: int, status: RunStatus) -> uuid.UUID:
    """A run on a new thread brought to `status` by the engine's own statements (claim, pause, settle)."""
    if status == RunStatus.QUEUED:
        return await add_run(connection, user_id)
    if status == RunStatus.REQUIRES_ACTION:
        return await add_paused_run(connection, user_id)
    run_id = await add_running_run(connection, user_id)
    if status == RunStatus.WAITING:  # waiting for a child run, as a pipeline waits for its steps
        await children.lock(connection, run_id, OWNER)
        parent = Run(id=run_id, user_id=user_id, request_id=None, acting_user_id=None)
        await children.spawn(connection, parent, step="step", agent=AGENT, input="a step", model_name=None)
        assert await children.wait(connection, run_id, OWNER, USAGE, [])
    if status in FINAL:
        await transitions.settle(connection, run_id=run_id, owner=OWNER, status=status, usage=USAGE)
    return run_id


async def lapse_lease(connection: AsyncConnection, run_id: uuid.UUID) -> None:
    """Make the run's lease a second older than the transaction's `now()`, as if its worker stopped renewing."""
    await connection.execute(
        text("UPDATE runs SET lease_expires_at = now() - interval '1 second' WHERE id = :id"), {"id": run_id}
    )


# --- reading what the statements did ---


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    type: str
    data: dict[str, Any]


async def read_run(connection: AsyncConnection, run_id: uuid.UUID) -> RowMapping:
    result = await connection.execute(text("SELECT * FROM runs WHERE id = :id"), {"id": run_id})
    return result.mappings().one()


async def snapshot(connection: AsyncConnection, run_id: uuid.UUID) -> tuple[dict[str, Any], list[StoredEvent]]:
    """Everything a statement could change about a run: its row and its events."""
    return dict(await read_run(connection, run_id)), await read_events(connection, run_id)


async def read_status(connection: AsyncConnection, run_id: uuid.UUID) -> RunStatus:
    return RunStatus((await read_run(connection, run_id))["status"])


async def read_events(connection: AsyncConnection, run_id: uuid.UUID) -> list[StoredEvent]:
    result = await connection.execute(
        text("SELECT seq, type, data FROM run_events WHERE run_id = :id ORDER BY seq"), {"id": run_id}
    )
    return [StoredEvent(int(seq), str(kind), dict(data)) for seq, kind, data in result.all()]


async def transaction_now(connection: AsyncConnection) -> datetime:
    """The transaction's `now()`: what the statements stamp with `now()`."""
    now: datetime = (await connection.execute(text("SELECT now()"))).scalar_one()
    return now


async def clock(connection: AsyncConnection) -> datetime:
    """The wall clock (`clock_timestamp()`), which moves on within a transaction, unlike `now()`."""
    moment: datetime = (await connection.execute(text("SELECT clock_timestamp()"))).scalar_one()
    return moment
