"""`switchboard …` commands (`worker`, mainly) as real subprocesses on the test database, for the tests of
crashes, leases and shutdown: start them with the test agents, wait on what they do, and stop them (SIGKILL: a
crash; SIGTERM: a graceful stop). Every process started is killed after the test if it is still there."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.runs.helpers import get_run

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_PLUGIN = "tests.runs.agents:plugin"
_SCRIPT = shutil.which("switchboard", path=str(Path(sys.executable).parent))
COMMAND = [_SCRIPT] if _SCRIPT else [sys.executable, "-c", "from switchboard.cli import main; main()"]

# For a worker the test kills: its runs' leases lapse soon after. A worker that lives through the test gets a
# longer one by default, so a busy machine cannot make it lose its own runs to its own sweeper.
LEASE_SECONDS = 1.5
DEFAULT_LEASE_SECONDS = 10.0
START_SECONDS = 30.0  # a CLI process takes ~3 s to import; generous for a loaded machine
# Compiled bytecode for the subprocesses, kept outside the checkout. Where PYTHONDONTWRITEBYTECODE is set, every
# process would otherwise compile all of pydantic_ai, openai, sqlalchemy… from source: ~3x slower to start.
PYCACHE = Path(tempfile.gettempdir()) / "switchboard-test-pycache"


def settings_env(**settings: object) -> dict[str, str]:
    """`worker_lease_seconds=1.5` → `{"SWITCHBOARD_WORKER_LEASE_SECONDS": "1.5"}`."""
    return {f"SWITCHBOARD_{name.upper()}": str(value) for name, value in settings.items()}


class SwitchboardProcess:
    """One `switchboard …` subprocess; its stdout and stderr (JSON log lines) go to files next to it."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], directory: Path) -> None:
        self.name = name
        self.args = args
        directory.mkdir(parents=True, exist_ok=True)
        self.stdout_path = directory / f"{name}.stdout"
        self.stderr_path = directory / f"{name}.stderr"
        with open(self.stdout_path, "w") as out, open(self.stderr_path, "w") as err:
            self.process = subprocess.Popen(
                [*COMMAND, *args], cwd=directory, env=env, stdout=out, stderr=err, start_new_session=True
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> int:
        """SIGKILL (a crash: no clean-up of any kind); returns once the process is gone."""
        return self.signal(signal.SIGKILL)

    def signal(self, signum: int, wait: float = 10.0) -> int:
        """Send `signum`; returns the exit code once the process has exited (fails after `wait` seconds)."""
        self.process.send_signal(signum)
        return self.wait(wait)

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} did not exit within {timeout} s\n{self.output()}") from None

    def logs(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far (other lines are skipped)."""
        lines: list[dict[str, Any]] = []
        for line in self.stderr_path.read_text().splitlines():
            if line.startswith("{"):
                try:
                    lines.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return lines

    def logged(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        """The log lines of `event` whose fields include `fields`."""
        return [
            line
            for line in self.logs()
            if line.get("event") == event and all(line.get(k) == v for k, v in fields.items())
        ]

    def output(self) -> str:
        return (
            f"--- {self.name}: {' '.join(self.args)} (pid {self.pid}, exit code {self.process.poll()})\n"
            f"stdout:\n{self.stdout_path.read_text()[-2000:]}\nstderr (end):\n{self.stderr_path.read_text()[-6000:]}"
        )


class Processes:
    """Starts `switchboard` subprocesses on the test database with the test agents, and kills what is left."""

    def __init__(self, database_url: str, directory: Path, effects_log: Path | None = None) -> None:
        self.database_url = database_url
        self.directory = directory
        self.effects_log = effects_log
        self.started: list[SwitchboardProcess] = []

    def env(self, **settings: object) -> dict[str, str]:
        # Nothing SWITCHBOARD_* leaks in from the test's own environment (a developer's .env or shell).
        env = {key: value for key, value in os.environ.items() if not key.startswith("SWITCHBOARD_")}
        path = [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        env["PYTHONPATH"] = os.pathsep.join(path)  # so that `tests.runs.agents` imports
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
        defaults: dict[str, object] = {
            "database_url": self.database_url,
            "plugins": TEST_PLUGIN,
            "model": "offline",
            "log_format": "json",
            "migrate_on_start": "false",
            "worker_lease_seconds": DEFAULT_LEASE_SECONDS,
            "worker_poll_seconds": 0.5,
        }
        env.update(settings_env(**{**defaults, **settings}))
        if self.effects_log is not None:
            env["SWITCHBOARD_TEST_EFFECTS_LOG"] = str(self.effects_log)
        return env

    def start(self, *args: str, name: str, **settings: object) -> SwitchboardProcess:
        """`switchboard <args>` with the settings given (as SWITCHBOARD_* variables) over the defaults."""
        directory = self.directory / "processes"
        settings.setdefault("data_dir", directory / f"{name}-data")
        process = SwitchboardProcess(name, list(args), self.env(**settings), directory)
        self.started.append(process)
        return process

    def worker(self, *args: str, name: str = "worker", **settings: object) -> SwitchboardProcess:
        """`switchboard worker <args>`."""
        return self.start("worker", *args, name=name, **settings)

    def output(self) -> str:
        return "\n".join(process.output() for process in self.started)

    def wait_until(
        self,
        condition: Callable[[], T | None],
        what: str,
        timeout: float = START_SECONDS,
        alive: tuple[SwitchboardProcess, ...] = (),
    ) -> T:
        """Poll `condition` until it returns something truthy, and return that. Fails (with every process's
        output) after `timeout` seconds, or at once if one of the `alive` processes exits."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            for process in alive:
                if not process.alive():
                    raise AssertionError(f"{process.name} exited while waiting for {what}\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{self.output()}")
            time.sleep(0.05)

    def wait_for_run(
        self,
        client: httpx.Client,
        run_id: str,
        until: Callable[[dict[str, Any]], bool],
        what: str,
        timeout: float = START_SECONDS,
        alive: tuple[SwitchboardProcess, ...] = (),
    ) -> dict[str, Any]:
        """Poll GET /v1/runs/{id} until `until(run)`; returns the run (see `wait_until`)."""

        def check() -> dict[str, Any] | None:
            run = get_run(client, run_id)
            return run if until(run) else None

        return self.wait_until(check, what, timeout, alive)

    def close(self) -> None:
        for process in self.started:
            if process.alive():
                process.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.process.wait(10)


@contextmanager
def processes(database_url: str, directory: Path, effects_log: Path | None = None) -> Iterator[Processes]:
    started = Processes(database_url, directory, effects_log)
    try:
        yield started
    finally:
        started.close()
