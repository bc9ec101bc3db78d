"""Fixtures for the knowledge tests: the HTTP API (no workers) with the demo users, and helpers to add documents
and to look at what is stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.database import run_db
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.server import LiveServer

ALICE = "alice@example.com"
BOB = "bob@example.com"
ADMIN = "admin@example.com"


class Kb:
    def __init__(self, server: LiveServer, people: dict[str, DemoUser]) -> None:
        self.server = server
        self.people = people

    def client(self, email: str = ALICE) -> httpx.Client:
        return self.server.client(self.people[email].key)

    def sql(self, statement: str, **params: Any) -> list[Any]:
        async def go(session: AsyncSession) -> list[Any]:
            return list((await session.execute(text(statement), params)).all())

        return run_db(self.server.database_url, go)

    def pgvector(self) -> bool:
        return bool(self.sql("SELECT count(*) FROM pg_extension WHERE extname = 'vector'")[0][0])


def add(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    """POST /v1/knowledge/documents (JSON) that must be accepted; returns the document with its chunks."""
    body = {"title": "A document", "text": "Some text.", **fields}
    response = client.post("/v1/knowledge/documents", json=body)
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    assert response.headers["location"] == f"/v1/knowledge/documents/{document['id']}"
    return document


@pytest.fixture
def make_kb(make_server: Callable[..., LiveServer]) -> Callable[..., Kb]:
    def start(**settings: Any) -> Kb:
        server = make_server(workers=0, **settings)
        return Kb(server, seed_demo(server.settings))

    return start


@pytest.fixture
def kb(make_kb: Callable[..., Kb]) -> Kb:
    return make_kb()
