"""One PostgreSQL per test session: the external one when SWITCHBOARD_TEST_DATABASE_URL is set (a fresh
database is created on it and dropped at the end), otherwise the embedded one in a temporary data dir.
Migrations run once; each test starts from empty tables. Model requests to real providers are disabled."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai import models
from sqlalchemy.engine import make_url

from switchboard.kit.embedded_pg import EmbeddedPostgres
from switchboard.settings import Settings
from tests.fakes.openai_server import FakeOpenAI, fake_openai_server
from tests.fixtures.database import empty_tables, execute_autocommit, migrate
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.server import LiveServer, live_server, make_settings

models.ALLOW_MODEL_REQUESTS = False


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("SWITCHBOARD_TEST_DATABASE_URL")
    if external:
        base = make_url(Settings(_env_file=None, database_url=external).database_url or "")
        name = f"switchboard_test_{uuid.uuid4().hex[:8]}"
        asyncio.run(execute_autocommit(base.render_as_string(hide_password=False), f'CREATE DATABASE "{name}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
        asyncio.run(
            execute_autocommit(base.render_as_string(hide_password=False), f'DROP DATABASE "{name}" WITH (FORCE)')
        )
    else:
        embedded = EmbeddedPostgres(tmp_path_factory.mktemp("embedded"))
        yield embedded.acquire()
        embedded.release()


@pytest.fixture(scope="session")
def migrated_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    migrate(database_url, make_settings(database_url, tmp_path_factory.mktemp("data")))
    return database_url


@pytest.fixture
def db_url(migrated_url: str) -> str:
    """The migrated database, emptied for this test (identities restart, so demo user ids are 1-4)."""
    empty_tables(migrated_url)
    return migrated_url


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, tmp_path)


@pytest.fixture
def make_server(db_url: str, tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start a live server with settings overridden as given; all are stopped after the test."""
    stack: list[AbstractContextManager[LiveServer]] = []

    def start(**overrides: Any) -> LiveServer:
        manager = live_server(make_settings(db_url, tmp_path, **overrides))
        stack.append(manager)
        return manager.__enter__()

    yield start
    for manager in reversed(stack):
        manager.__exit__(None, None, None)


@pytest.fixture
def server(make_server: Callable[..., LiveServer]) -> LiveServer:
    return make_server()


@pytest.fixture
def demo(server: LiveServer) -> dict[str, DemoUser]:
    """Seed 000's data and a key per demo user: test.user@, alice@, bob@ and admin@example.com."""
    return seed_demo(server.settings)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """A fake OpenAI-compatible server on loopback (`tests/fakes/openai_server.py`); model requests are allowed
    while it serves (conftest disables them otherwise), and go only to it: servers are pointed at its base URL."""
    with fake_openai_server() as server, models.override_allow_model_requests(True):
        yield server
