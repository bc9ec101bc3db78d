"""The embedded PostgreSQL manager: one server per data dir, shared by every process that holds it, stopped by
the last live holder, and keeping its data across restarts. Real servers, real processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from switchboard.kit.embedded_pg import DATABASE_NAME, EmbeddedPostgres
from tests.fixtures.processes import process_gone

# A second holder: acquires the data dir given as argv[1], prints the URL and the postmaster's pid, then waits
# for a line on stdin: "release" releases and exits; anything else (or EOF) exits without releasing.
HOLDER = """
import json, sys
from pathlib import Path
import structlog
from switchboard.kit.embedded_pg import EmbeddedPostgres
from tests.fixtures.processes import process_gone

structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=sys.stderr))  # stdout is for the answer

pg = EmbeddedPostgres(Path(sys.argv[1]))
url = pg.acquire()
pid = int((pg.pgdata / "postmaster.pid").read_text().split()[0])
print(json.dumps({"url": url, "pid": pid}), flush=True)
if sys.stdin.readline().strip() == "release":
    pg.release()
    print("released", flush=True)
"""


def _postmaster_pid(pg: EmbeddedPostgres) -> int | None:
    try:
        return int((pg.pgdata / "postmaster.pid").read_text().split()[0])
    except FileNotFoundError:
        return None


def _assert_stopped(pg: EmbeddedPostgres, pid: int, within: float = 10.0) -> None:
    assert not (pg.pgdata / "postmaster.pid").exists(), "postmaster.pid is still there: the server was not stopped"
    deadline = time.monotonic() + within
    while not process_gone(pid):
        assert time.monotonic() < deadline, f"postmaster {pid} still running after release"
        time.sleep(0.05)


def _assert_running(pg: EmbeddedPostgres, pid: int) -> None:
    assert _postmaster_pid(pg) == pid
    assert not process_gone(pid)


def _query(url: str, *statements: str) -> Any:
    """Run the statements in one transaction; the first column of the last one's first row."""

    async def go() -> Any:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                for statement in statements[:-1]:
                    await connection.execute(text(statement))
                return (await connection.execute(text(statements[-1]))).scalar()
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _holders(pg: EmbeddedPostgres) -> set[int]:
    return {int(p.name) for p in (pg.root / "holders").iterdir()}


class Holder:
    """A second process holding the embedded server."""

    def __init__(self, data_dir: Path, started: list[subprocess.Popen[str]]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(data_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(self.process)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=30)
            assert self.process.stderr is not None
            raise AssertionError(f"holder failed to acquire: {self.process.stderr.read()[-2000:]}")
        acquired = json.loads(line)
        self.url: str = acquired["url"]
        self.postmaster_pid: int = acquired["pid"]

    @property
    def pid(self) -> int:
        return self.process.pid

    def release(self) -> None:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write("release\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "released"
        assert self.process.wait(timeout=30) == 0

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)  # reaped, so its pid is really gone


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    """Holder processes started by the test; killed afterwards if still running."""
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


@pytest.fixture
def data_dir(tmp_path: Path, started: list[subprocess.Popen[str]]) -> Iterator[Path]:
    """An empty data dir; a server still running on it after the test (a failed test) is stopped."""
    yield tmp_path
    pid = _postmaster_pid(EmbeddedPostgres(tmp_path))
    if pid is not None and not process_gone(pid):
        os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
        deadline = time.monotonic() + 30
        while not process_gone(pid) and time.monotonic() < deadline:
            time.sleep(0.05)


def test_acquire_on_an_empty_dir_initialises_starts_and_serves_queries(data_dir: Path) -> None:
    pg = EmbeddedPostgres(data_dir)
    assert not (data_dir / "postgres").exists()

    url = pg.acquire()
    try:
        assert (pg.pgdata / "PG_VERSION").exists()
        pid = _postmaster_pid(pg)
        assert pid is not None
        _assert_running(pg, pid)
        assert _holders(pg) == {os.getpid()}
        # Unix socket only: the URL names a socket directory, not a TCP host and port.
        parsed = make_url(url)
        assert parsed.drivername == "postgresql+asyncpg"
        assert parsed.database == DATABASE_NAME
        assert parsed.port is None
        socket_dir = Path(str(parsed.query["host"]))
        assert (socket_dir / ".s.PGSQL.5432").is_socket()
        assert _query(url, "SELECT current_database()") == DATABASE_NAME
        assert _query(url, "SHOW listen_addresses") == ""
    finally:
        pg.release()

    _assert_stopped(pg, pid)
    assert _holders(pg) == set()
    pg.release()  # a second release is a no-op


def test_holders_in_one_process_share_and_a_restart_keeps_the_data(data_dir: Path) -> None:
    first, second = EmbeddedPostgres(data_dir), EmbeddedPostgres(data_dir)
    url = first.acquire()
    try:
        assert second.acquire() == url
        pid = _postmaster_pid(first)
        assert pid is not None
        first.release()
        _assert_running(second, pid)  # the other holder in this process keeps it up
        assert _query(url, "CREATE TABLE kept (x int)", "INSERT INTO kept VALUES (42) RETURNING x") == 42
    finally:
        first.release()
        second.release()
    _assert_stopped(first, pid)

    if os.geteuid() == 0:
        # As root the server runs as a system user, which must traverse to pgdata: a parent that lost o+x since
        # initdb (pytest resets /tmp/pytest-of-root to 0700 whenever a session starts) must not stop a restart.
        data_dir.chmod(0o700)
    again = EmbeddedPostgres(data_dir)
    url = again.acquire()
    try:
        new_pid = _postmaster_pid(again)
        assert new_pid is not None
        assert new_pid != pid
        assert _query(url, "SELECT x FROM kept") == 42
    finally:
        again.release()
    _assert_stopped(again, new_pid)


def test_another_process_reuses_the_server_and_the_last_release_stops_it(
    data_dir: Path, started: list[subprocess.Popen[str]]
) -> None:
    pg = EmbeddedPostgres(data_dir)
    url = pg.acquire()
    try:
        pid = _postmaster_pid(pg)
        assert pid is not None

        # A second process joins the running server and leaves: the server stays up for us.
        one = Holder(data_dir, started)
        assert (one.postmaster_pid, one.url) == (pid, url)
        assert _holders(pg) == {os.getpid(), one.pid}
        one.release()
        _assert_running(pg, pid)
        assert _holders(pg) == {os.getpid()}
        assert _query(url, "SELECT 1") == 1

        # Another joins; now we leave first: it is still up, for the other process.
        two = Holder(data_dir, started)
        assert two.postmaster_pid == pid
    finally:
        pg.release()
    _assert_running(pg, pid)
    assert _holders(pg) == {two.pid}
    assert _query(two.url, "SELECT 2") == 2

    two.release()  # the last holder stops it
    _assert_stopped(pg, pid)
    assert _holders(pg) == set()


def test_a_holder_killed_without_releasing_is_pruned(data_dir: Path, started: list[subprocess.Popen[str]]) -> None:
    crashed = Holder(data_dir, started)  # it starts the server
    pg = EmbeddedPostgres(data_dir)
    url = pg.acquire()
    try:
        assert _postmaster_pid(pg) == crashed.postmaster_pid
        crashed.kill()
        # It never released: its holder file is still there, and the server still runs.
        assert _holders(pg) == {os.getpid(), crashed.pid}
        _assert_running(pg, crashed.postmaster_pid)
        assert _query(url, "SELECT 1") == 1
    finally:
        pg.release()  # the last live holder: the dead one is pruned and the server stops
    _assert_stopped(pg, crashed.postmaster_pid)
    assert _holders(pg) == set()
