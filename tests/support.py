"""Test helpers: a live server on loopback, demo data, and direct database access for assertions."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from switchboard.app import create_app
from switchboard.kit.db import make_sessionmaker
from switchboard.plugins.loader import load_plugins
from switchboard.plugins.spec import SeedContext
from switchboard.settings import Settings

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "model": "offline",
        "migrate_on_start": False,
        "log_format": "json",
        "llm_base_url": None,
        "llm_api_key": None,
        "plugins": [],
        "load_entry_points": True,
        # Servers stopped at the end of a test give runs still in flight a short grace, not the default 20 s.
        "worker_grace_seconds": 1.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


async def execute_autocommit(url: str, statement: str) -> None:
    """One statement outside a transaction (CREATE/DROP DATABASE)."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def run_db(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed unit of work, on a fresh engine and event loop (tests are synchronous)."""

    async def go() -> T:
        engine = create_async_engine(url)
        try:
            async with make_sessionmaker(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(go())


@dataclass(frozen=True)
class DemoUser:
    email: str
    user_id: int
    key: str


def seed_demo(settings: Settings) -> dict[str, DemoUser]:
    """The demo plugin's seed, as `switchboard demo` runs it; returns the demo users by email."""
    assert settings.database_url is not None
    plugins = [p for p in load_plugins(settings) if p.seed is not None]

    async def work(session: AsyncSession) -> list[str]:
        lines: list[str] = []
        for plugin in plugins:
            assert plugin.seed is not None
            lines.extend(await plugin.seed(SeedContext(session=session, settings=settings)))
        return lines

    users: dict[str, DemoUser] = {}
    for line in run_db(settings.database_url, work):
        email, user_id, _role, key = line.split()
        users[email] = DemoUser(email=email, user_id=int(user_id.removeprefix("user_id=")), key=key)
    return users


@dataclass
class LiveServer:
    url: str
    settings: Settings

    @property
    def database_url(self) -> str:
        assert self.settings.database_url is not None
        return self.settings.database_url

    def client(self, key: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)


@contextmanager
def serve_in_thread(app: Any, name: str) -> Iterator[str]:
    """Serve an ASGI app under uvicorn on a free loopback port, in a thread with its own event loop; yields the URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"{name}-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """The real app on a loopback port."""
    with serve_in_thread(create_app(settings), "switchboard") as url:
        yield LiveServer(url=url, settings=settings)


def process_gone(pid: int) -> bool:
    """True when the process does not exist or is a zombie (it exited; only its parent has not reaped it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"
