"""The process's LISTEN connection: when PostgreSQL drops it (here `pg_terminate_backend`, as a restart or a
proxy would), it is re-opened, notifications flow again, and everyone listening is told to look again, since
what was sent meanwhile is gone: waiters on any channel and `on()` callbacks on every channel alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from switchboard.kit.notify import APPLICATION_NAME, Notifier

CHANNELS = ("sb_test_ready", "sb_test_cancel", "sb_test_events")


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(migrated_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def notifier(migrated_url: str) -> AsyncIterator[Notifier]:
    notifier = Notifier(migrated_url, CHANNELS)
    await notifier.start()
    yield notifier
    await notifier.close()


async def listener_pids(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :name AND datname = current_database()"),
            {"name": APPLICATION_NAME},
        )
        return [int(row[0]) for row in rows]


async def kill_listener(engine: AsyncEngine) -> int:
    """Terminate this database's listening connection from the server side; returns its pid."""
    (pid,) = await listener_pids(engine)
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    return pid


async def notify(engine: AsyncEngine, channel: str, payload: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload})


async def until(condition: asyncio.Event, seconds: float = 1.0) -> None:
    await asyncio.wait_for(condition.wait(), seconds)


async def test_callbacks_on_every_channel_hear_of_a_reconnect(engine: AsyncEngine, notifier: Notifier) -> None:
    """Nothing waits with `subscribe()` here: callbacks registered with `on()` alone must still be called (with
    an empty payload) once the listener is back. They were not: only channels with a waiter were woken."""
    heard: dict[str, list[str]] = {channel: [] for channel in CHANNELS[:2]}
    reconnected = {channel: asyncio.Event() for channel in heard}

    def listen(channel: str) -> None:
        def callback(payload: str) -> None:
            heard[channel].append(payload)
            if payload == "":
                reconnected[channel].set()

        notifier.on(channel, callback)

    for channel in heard:
        listen(channel)
    old = await kill_listener(engine)
    for channel in heard:
        await until(reconnected[channel])
    assert heard == {channel: [""] for channel in heard}
    assert (await listener_pids(engine)) not in ([], [old]), "no new listening connection"


async def test_notifications_flow_again_after_a_reconnect(engine: AsyncEngine, notifier: Notifier) -> None:
    payloads: list[str] = []
    arrived = asyncio.Event()

    def callback(payload: str) -> None:
        payloads.append(payload)
        if payload == "after":
            arrived.set()

    notifier.on(CHANNELS[0], callback)
    async with notifier.subscribe(CHANNELS[2], "run-1") as woken:
        await kill_listener(engine)
        await until(woken)  # a keyed waiter is woken by the reconnect, too
        woken.clear()
        await notify(engine, CHANNELS[2], "run-1")
        await until(woken)
    await notify(engine, CHANNELS[0], "after")
    await until(arrived)
    assert payloads == ["", "after"]
