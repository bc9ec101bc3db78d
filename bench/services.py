"""The chat bench's server processes, each its own subprocess on a free loopback port, logging to a file in the
bench's working directory: the fake model, one `switchboard serve` (the demo seeded by `switchboard demo`, bench
users made through the admin API) and the reference app."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx

from bench import ROOT
from bench.worker import stop

START_SECONDS = 120.0  # a cold `switchboard serve` imports for seconds; more on a loaded machine


@dataclass(frozen=True)
class Service:
    name: str
    pid: int
    url: str
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _switchboard() -> list[str]:
    script = Path(sys.executable).with_name("switchboard")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from switchboard.cli import main; main()"]


def _env(extra: dict[str, str]) -> dict[str, str]:
    # Nothing SWITCHBOARD_* from the caller's environment (a developer's shell), and the bench importable.
    env = {key: value for key, value in os.environ.items() if not key.startswith("SWITCHBOARD_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env["SWITCHBOARD_TIERS"] = "{}"  # the bench's one user is not rate-limited (bench-limiter measures that)
    env.update(extra)
    return env


def _open_log(path: Path) -> BinaryIO:
    return open(path, "wb")


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@asynccontextmanager
async def service(name: str, argv: list[str], env: dict[str, str], workdir: Path, port: int) -> AsyncIterator[Service]:
    """Start `argv`, wait until its port answers HTTP, yield it; SIGTERM (then SIGKILL) at the end."""
    log = workdir / f"{name}.log"
    with _open_log(log) as out:
        process = await asyncio.create_subprocess_exec(
            *argv, env=_env(env), cwd=workdir, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_ready(process, url, log)
        yield Service(name, process.pid, url, log)
    finally:
        await stop(process)


async def _wait_ready(process: asyncio.subprocess.Process, url: str, log: Path) -> None:
    deadline = asyncio.get_running_loop().time() + START_SECONDS
    async with httpx.AsyncClient(timeout=2) as client:
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"{log.stem} exited with {process.returncode}:\n{_tail(log)}")
            with contextlib.suppress(httpx.TransportError):
                await client.get(url + "/")  # any answer, even a 404, means it serves
                return
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"{log.stem} did not answer within {START_SECONDS:.0f} s:\n{_tail(log)}")
            await asyncio.sleep(0.2)


def fake_model(workdir: Path) -> contextlib.AbstractAsyncContextManager[Service]:
    port = free_port()
    return service("fake-model", [sys.executable, "-m", "bench.fake_model", "--port", str(port)], {}, workdir, port)


def reference_app(workdir: Path, dsn: str, model_url: str) -> contextlib.AbstractAsyncContextManager[Service]:
    port = free_port()
    argv = [sys.executable, "-m", "bench.reference_app", "--port", str(port), "--model-url", model_url]
    return service("reference", argv, {"BENCH_REFERENCE_DSN": dsn}, workdir, port)


def switchboard_env(database_url: str, workdir: Path, model_url: str, overrides: dict[str, str]) -> dict[str, str]:
    """Default settings but for the database, the model (the fake) and JSON logs; `--set` overrides."""
    return {
        "SWITCHBOARD_DATABASE_URL": database_url,
        "SWITCHBOARD_DATA_DIR": str(workdir / "switchboard-data"),
        "SWITCHBOARD_MODEL": "openai-chat:fake-model",
        "SWITCHBOARD_LLM_BASE_URL": model_url,
        "SWITCHBOARD_LOG_FORMAT": "json",
        **overrides,
    }


async def seed_demo(env: dict[str, str], workdir: Path) -> str:
    """`switchboard demo` (migrate, seed the demo shop); returns the demo admin's key."""
    process = await asyncio.create_subprocess_exec(
        *_switchboard(),
        "demo",
        env=_env(env),
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"switchboard demo failed ({process.returncode}):\n{err.decode(errors='replace')[-3000:]}")
    for line in out.decode().splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[2] == "admin":
            return fields[3]
    raise RuntimeError(f"switchboard demo printed no admin key:\n{out.decode()}")


def switchboard_server(env: dict[str, str], workdir: Path) -> contextlib.AbstractAsyncContextManager[Service]:
    port = free_port()
    return service("switchboard", [*_switchboard(), "serve", "--port", str(port)], env, workdir, port)


async def create_users(url: str, admin_key: str, count: int, prefix: str) -> list[str]:
    """`count` new users through POST /v1/admin/users; their keys."""
    keys: list[str] = []
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {admin_key}"}) as client:
        for i in range(count):
            response = await client.post("/v1/admin/users", json={"email": f"{prefix}{i}@example.com", "name": "Bench"})
            response.raise_for_status()
            keys.append(str(response.json()["key"]["key"]))
    return keys
