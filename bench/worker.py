"""The worker process under test: one `switchboard worker` subprocess (draining, or idle and waiting on NOTIFY),
run with default settings, its output logged to a file in the bench's working directory.

Only the database URL and the bench plugin are set in its environment; `--set NAME=VALUE` overrides.
With a profile path it runs under cProfile (`bench.profile_worker`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import BinaryIO

from bench import ROOT
from bench.agent import PLUGIN_PATH
from bench.database import Context


def worker_command(concurrency: int, *, drain: bool, profile: Path | None = None) -> list[str]:
    args = ["worker", "--concurrency", str(concurrency), *(["--drain"] if drain else [])]
    if profile is not None:
        return [sys.executable, "-m", "bench.profile_worker", str(profile), *args]
    script = Path(sys.executable).with_name("switchboard")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from switchboard.cli import main; main()", *args]


def worker_env(ctx: Context) -> dict[str, str]:
    # Default settings: nothing SWITCHBOARD_* from the caller's environment, and the worker's working
    # directory is a temporary one (no .env is read).
    env = {key: value for key, value in os.environ.items() if not key.startswith("SWITCHBOARD_")}
    env["SWITCHBOARD_DATABASE_URL"] = ctx.url
    env["SWITCHBOARD_PLUGINS"] = PLUGIN_PATH
    env["SWITCHBOARD_TIERS"] = "{}"  # the bench's one user is not rate-limited (bench-limiter measures that)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env.update(ctx.overrides)
    return env


def _open_log(path: Path) -> BinaryIO:
    return open(path, "wb")


@asynccontextmanager
async def worker_process(
    ctx: Context, concurrency: int, *, drain: bool, profile: Path | None = None
) -> AsyncIterator[tuple[asyncio.subprocess.Process, Path]]:
    log_path = ctx.workdir / f"worker-{concurrency}-{'drain' if drain else 'idle'}-{time.monotonic_ns()}.log"
    with _open_log(log_path) as log:
        process = await asyncio.create_subprocess_exec(
            *worker_command(concurrency, drain=drain, profile=profile),
            env=worker_env(ctx),
            cwd=ctx.workdir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    try:
        yield process, log_path
    finally:
        await stop(process)


async def stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 30 s."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()


def tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of a worker's log, for error messages."""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
