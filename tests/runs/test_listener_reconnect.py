"""A worker whose LISTEN connection was dropped catches up at once when it is back: notifications sent while it
was away are lost, so on reconnecting it claims again and re-reads its runs' cancel flags, instead of waiting
for its poll (30 s here) or its next lease renewal (20 s here).

The lost notifications are made by writing what they announce without sending them: a queued run inserted with
SQL, and a cancel flag set with SQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.kit.notify import APPLICATION_NAME
from switchboard.models.runs import MultitaskStrategy, RunStatus
from tests.fixtures.database import run_db
from tests.fixtures.demo import seed_demo
from tests.fixtures.http import create_run, get_run, wait_for_status
from tests.fixtures.server import LiveServer


def test_after_a_reconnect_the_worker_claims_and_cancels_at_once(runs_server: Callable[..., LiveServer]) -> None:
    server = runs_server(worker_poll_seconds=30, worker_lease_seconds=60, worker_concurrency=2)
    user = seed_demo(server.settings)["alice@example.com"]
    with server.client(user.key) as client:
        running = create_run(client, "slow", "words=3 delay=20")["id"]  # a word, then 20 s of silence
        wait_until(lambda: get_run(client, running)["last_event_id"] >= 3, "the first word of the slow run")
        response = client.post("/v1/threads", json={"agent": "echo"})
        assert response.status_code == 201, response.text
        thread_id = response.json()["id"]
        queued = str(uuid.uuid4())

        async def change_without_notifying(session: AsyncSession) -> None:
            await session.execute(text("UPDATE runs SET cancel_requested = true WHERE id = :id"), {"id": running})
            await session.execute(
                text(
                    "INSERT INTO runs (id, user_id, thread_id, turn, agent, status, input, multitask_strategy) "
                    "VALUES (:id, :user_id, :thread_id, 1, 'echo', :queued, 'hello', :enqueue)"
                ),
                {
                    "id": queued,
                    "user_id": user.user_id,
                    "thread_id": thread_id,
                    RunStatus.QUEUED: RunStatus.QUEUED,
                    "enqueue": MultitaskStrategy.ENQUEUE,
                },
            )

        run_db(server.database_url, change_without_notifying)  # committed before the listener drops
        dropped = run_db(server.database_url, drop_listener)
        done = wait_for_status(client, queued, timeout=10)
        cancelled = wait_for_status(client, running, timeout=10)

    assert done["status"] == RunStatus.SUCCEEDED, done
    assert done["output"] == "echo: hello"
    assert cancelled["status"] == RunStatus.CANCELLED, cancelled
    assert cancelled["output"] == "w1", cancelled
    assert seconds(done["started_at"], dropped) < 1.0, (done, dropped)
    assert seconds(cancelled["finished_at"], dropped) < 1.0, (cancelled, dropped)


async def drop_listener(session: AsyncSession) -> datetime:
    """Terminate the server's listening connection (there is exactly one on this database); returns when."""
    rows = await session.execute(
        text(
            "SELECT pg_terminate_backend(pid), clock_timestamp() FROM pg_stat_activity "
            "WHERE application_name = :name AND datname = current_database()"
        ),
        {"name": APPLICATION_NAME},
    )
    ((terminated, at),) = rows.all()
    assert terminated
    dropped: datetime = at
    return dropped


def seconds(timestamp: Any, since: datetime) -> float:
    assert timestamp is not None
    return (datetime.fromisoformat(timestamp) - since).total_seconds()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
