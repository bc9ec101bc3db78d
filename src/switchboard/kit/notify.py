"""PostgreSQL LISTEN/NOTIFY for the process: one listening connection, many in-process subscribers.

A notification only says "look again": the database stays the source of truth, so a subscriber re-reads what it
cares about after each wake-up and nothing is lost if a notification is. When the listening connection drops it
is re-opened and every subscriber is woken, since notifications sent meanwhile are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import asyncpg
import structlog
from sqlalchemy.engine import make_url

log = structlog.get_logger(__name__)

ANY_KEY = "*"
RECONNECT_SECONDS = 1.0
APPLICATION_NAME = "switchboard-listener"
"""How the listening connection shows in pg_stat_activity."""


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """The libpq-style DSN asyncpg takes, from our `postgresql+asyncpg://` URL (unix-socket host included)."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


class Notifier:
    def __init__(self, url: str, channels: Iterable[str]) -> None:
        self._dsn = asyncpg_dsn(url)
        self._channels = list(channels)
        self._waiters: dict[str, dict[str, set[asyncio.Event]]] = defaultdict(lambda: defaultdict(set))
        self._callbacks: dict[str, list[Callable[[str], None]]] = defaultdict(list)
        self._connection: asyncpg.Connection | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._closing = False

    async def start(self) -> None:
        """Listen; if the database is unreachable now, keep trying in the background (the server still starts,
        and /ready says what is wrong)."""
        try:
            await self._connect()
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("notifier.connect_failed", error=str(exc))
            self._lost.set()
        self._supervisor = asyncio.create_task(self._supervise(), name="notifier")

    async def close(self) -> None:
        self._closing = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()

    def on(self, channel: str, callback: Callable[[str], None]) -> None:
        """Call `callback(payload)` for every notification on `channel` (and with "" after a reconnect)."""
        self._callbacks[channel].append(callback)

    def off(self, channel: str, callback: Callable[[str], None]) -> None:
        if callback in self._callbacks.get(channel, ()):
            self._callbacks[channel].remove(callback)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str, key: str = ANY_KEY) -> AsyncIterator[asyncio.Event]:
        """An event set when `channel` carries `key` as its payload (any payload for `ANY_KEY`). Subscribe before
        reading the state you wait on, then clear the event before each re-read: no wake-up falls in between."""
        event = asyncio.Event()
        self._waiters[channel][key].add(event)
        try:
            yield event
        finally:
            keyed = self._waiters[channel]
            keyed[key].discard(event)
            if not keyed[key]:
                del keyed[key]

    def _dispatch(self, _connection: Any, _pid: int, channel: str, payload: object) -> None:
        payload = str(payload)
        keyed = self._waiters.get(channel)
        if keyed:
            for key in (payload, ANY_KEY):
                for event in keyed.get(key, ()):
                    event.set()
        for callback in self._callbacks.get(channel, ()):
            callback(payload)

    def _wake_everyone(self) -> None:
        """After a reconnect: notifications sent meanwhile are gone, so every subscriber and every callback, on
        every channel, is told to look again."""
        for keyed in self._waiters.values():
            for events in keyed.values():
                for event in events:
                    event.set()
        for callbacks in self._callbacks.values():
            for callback in list(callbacks):
                callback("")

    async def _connect(self) -> None:
        connection = await asyncpg.connect(self._dsn, server_settings={"application_name": APPLICATION_NAME})
        for channel in self._channels:
            await connection.add_listener(channel, self._dispatch)
        connection.add_termination_listener(lambda _conn: self._lost.set())
        self._connection = connection
        self._lost.clear()

    async def _supervise(self) -> None:
        while not self._closing:
            await self._lost.wait()
            if self._closing:
                return
            log.warning("notifier.connection_lost")
            while not self._closing:
                try:
                    await self._connect()
                except (OSError, asyncpg.PostgresError) as exc:
                    log.warning("notifier.reconnect_failed", error=str(exc))
                    await asyncio.sleep(RECONNECT_SECONDS)
                    continue
                log.info("notifier.reconnected")
                self._wake_everyone()
                break
