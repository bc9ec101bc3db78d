"""PostgreSQL refusing connections (`too many connections`, what a full server says) is an outage like any other:
503 with Retry-After in the one error shape, never a 500; the server answers again once connections are allowed.
And each process sizes its pool from what it runs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.settings import Settings
from tests.fixtures.database import run_db
from tests.fixtures.demo import seed_demo
from tests.fixtures.http import assert_error
from tests.fixtures.server import live_server, make_settings


@pytest.fixture
def limited_role(db_url: str) -> Iterator[tuple[str, Callable[[int], None]]]:
    """A login role of its own (not a superuser: their connection limits do not apply) that may read and write
    every table; yields its URL and a function setting its connection limit (and closing its connections)."""
    role = f"limited_{uuid.uuid4().hex[:8]}"

    async def execute(session: AsyncSession, *statements: str) -> None:
        for statement in statements:
            await session.execute(text(statement))

    run_db(
        db_url,
        lambda s: execute(s, f"CREATE ROLE {role} LOGIN", f"GRANT pg_read_all_data, pg_write_all_data TO {role}"),
    )

    def limit(connections: int) -> None:
        run_db(
            db_url,
            lambda s: execute(
                s,
                f"ALTER ROLE {role} CONNECTION LIMIT {connections}",
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'",  # noqa: S608 (ours)
            ),
        )

    yield make_url(db_url).set(username=role, password=None).render_as_string(hide_password=False), limit
    limit(-1)
    run_db(db_url, lambda s: execute(s, f"DROP OWNED BY {role}", f"DROP ROLE {role}"))


def test_a_refused_connection_is_a_503_and_the_server_recovers(
    tmp_path: Path, limited_role: tuple[str, Callable[[int], None]]
) -> None:
    url, limit = limited_role
    with (
        live_server(make_settings(url, tmp_path, workers=0, request_log_enabled=False)) as server,
        server.client(seed_demo(server.settings)["alice@example.com"].key) as client,
    ):
        assert client.get("/v1/threads").status_code == 200

        limit(0)  # PostgreSQL now refuses the role's every connection: "too many connections for role"
        refused = client.get("/v1/threads")
        error = assert_error(refused, 503, "unavailable")
        assert "database is unavailable" in error["message"]
        assert refused.headers["Retry-After"].isdigit()

        limit(-1)
        deadline = time.monotonic() + 10
        while (answer := client.get("/v1/threads")).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("overrides", "http", "expected"),
    [
        ({}, True, (20, 10)),  # serve: the API's 10 (+10 for bursts) and one worker loop's 8 + 2
        ({"workers": 0}, True, (10, 10)),
        ({"workers": 1, "worker_concurrency": 16}, False, (18, 0)),  # a `switchboard worker`: what it runs, no more
        ({"workers": 2, "worker_concurrency": 4}, True, (22, 10)),
        ({"workers": 0}, False, (2, 0)),  # a CLI command
        ({"db_pool_size": 5, "db_max_overflow": 1}, True, (5, 1)),  # set: as set
    ],
)
def test_pools_are_sized_from_what_the_process_runs(
    tmp_path: Path, overrides: dict[str, int], http: bool, expected: tuple[int, int]
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, **overrides)  # type: ignore[arg-type]
    assert settings.db_pool(http=http) == expected
