"""The run-engine benchmark (`make bench`, or `python -m bench.run_engine --help`).

What it measures, with a trivial offline agent (it answers "ok" through the offline model's machinery: one
model request, streamed, no tools), so the figures are the engine's and not a model's:

- throughput: N runs are enqueued through `RunService.create` (the code path `POST /v1/runs` takes), then ONE
  `switchboard worker --drain --concurrency C` process drains them. Runs per second = N / (last run's
  finished_at - first run's started_at), both database timestamps, so process start-up is excluded. Each run
  does everything a real one does: claim under a lease, load, write its messages, steps and numbered events
  (fenced by the lease), settle. Tried for each C given; the best is reported.
- latency: with an idle worker process already running (waiting on NOTIFY), runs are created one at a time,
  each in its own transaction, a few ms apart. Enqueue→start = the run's started_at (set by the claim) minus
  the moment the creating transaction was about to commit (clock_timestamp() as its last statement); the
  run's created_at (the creating transaction's start, a few ms earlier still) is reported alongside.

The database is a fresh embedded PostgreSQL (temporary data dir), or, when SWITCHBOARD_BENCH_DATABASE_URL or
SWITCHBOARD_DATABASE_URL is set, a fresh database created on that server and dropped at the end. The worker
runs with default settings (only the database URL and the bench plugin are set; `--set NAME=VALUE` overrides).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import pstats
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, BinaryIO

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo
from pydantic_ai.usage import UsageLimits
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from switchboard.agents.registry import AgentRegistry
from switchboard.agents.spec import AgentDeps, AgentSpec
from switchboard.auth.principal import Principal, principal_of
from switchboard.engine.ledger import RunLedger
from switchboard.kit.db import make_sessionmaker
from switchboard.kit.embedded_pg import EmbeddedPostgres
from switchboard.kit.logging import configure_logging
from switchboard.migrations import runner as migrations
from switchboard.plugins import Plugin
from switchboard.plugins.loader import load_plugins
from switchboard.runs.schemas import RunCreate
from switchboard.runs.service import RunService
from switchboard.settings import Settings
from switchboard.users.service import UserService

AGENT = "bench"
PLUGIN_PATH = "bench.run_engine:plugin"
ROOT = Path(__file__).resolve().parent.parent
TARGET_RUNS_PER_SECOND = 500.0
TARGET_P50_MS = 20.0


# --- the agent ---------------------------------------------------------------------------------------------


def _reply(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    return ModelResponse(parts=[TextPart("ok")])


def plugin() -> Plugin:
    """The bench agent, loaded by the worker process through SWITCHBOARD_PLUGINS=bench.run_engine:plugin."""
    agent: Agent[AgentDeps, str] = Agent(deps_type=AgentDeps, name=AGENT)
    spec = AgentSpec(
        name=AGENT, description="Benchmark agent: answers 'ok' (offline).", agent=agent, model="offline", offline=_reply
    )
    return Plugin(name="bench", agents=[spec])


# --- results -----------------------------------------------------------------------------------------------


@dataclass
class Throughput:
    concurrency: int
    runs: int
    seconds: float  # first started_at → last finished_at
    process_seconds: float  # the worker process's whole life, start-up included
    runs_per_second: float
    worker_cpu_ms_per_run: float | None  # CPU time of the worker process within the drain window, per run
    postgres_cpu_ms_per_run: float | None  # CPU time of the database backends serving our database, per run
    events_per_run: str  # the event types every run wrote, in order (all runs must agree)


@dataclass
class Latency:
    concurrency: int
    runs: int
    spacing_ms: float
    p50_ms: float  # started_at - pre-commit clock
    p90_ms: float
    p99_ms: float
    max_ms: float
    created_p50_ms: float  # started_at - created_at (the creating transaction's start)
    created_p99_ms: float


@dataclass
class Context:
    url: str
    engine: AsyncEngine
    settings: Settings
    registry: AgentRegistry
    principal: Principal
    workdir: Path
    overrides: dict[str, str]


# --- database ----------------------------------------------------------------------------------------------


async def _autocommit(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@asynccontextmanager
async def bench_database(workdir: Path) -> AsyncIterator[tuple[str, str]]:
    """(url, description) of a fresh database, removed afterwards."""
    external = os.environ.get("SWITCHBOARD_BENCH_DATABASE_URL") or os.environ.get("SWITCHBOARD_DATABASE_URL")
    if external:
        server = make_url(Settings(_env_file=None, database_url=external).database_url or "")
        base = server.render_as_string(hide_password=False)
        name = f"switchboard_bench_{uuid.uuid4().hex[:8]}"
        await _autocommit(base, f'CREATE DATABASE "{name}"')
        where = f"{server.host}:{server.port or 5432}" if server.host else "Unix socket"
        try:
            yield server.set(database=name).render_as_string(hide_password=False), f"external PostgreSQL ({where})"
        finally:
            await _autocommit(base, f'DROP DATABASE "{name}" WITH (FORCE)')
    else:
        embedded = EmbeddedPostgres(workdir / "data")
        url = await asyncio.to_thread(embedded.acquire)
        try:
            yield url, "embedded PostgreSQL (Unix socket, fresh data dir)"
        finally:
            await asyncio.to_thread(embedded.release)


def bench_settings(url: str) -> Settings:
    return Settings(_env_file=None, database_url=url, plugins=[PLUGIN_PATH])


async def prepare(url: str, workdir: Path, overrides: dict[str, str]) -> Context:
    settings = bench_settings(url)
    engine = create_async_engine(url)
    await migrations.upgrade(engine, load_plugins(settings))
    async with make_sessionmaker(engine)() as session:
        user = await UserService(session).create_user("bench@example.com", "Bench")
        await session.commit()
        principal = principal_of(user)
    registry = AgentRegistry(plugin().agents, settings)
    return Context(url, engine, settings, registry, principal, workdir, overrides)


async def reset(ctx: Context) -> None:
    async with ctx.engine.begin() as connection:
        await connection.execute(text("TRUNCATE runs, threads RESTART IDENTITY CASCADE"))
    async with ctx.engine.connect() as connection:
        await connection.execute(text("COMMIT"))
        await connection.execute(text("VACUUM ANALYZE"))


async def enqueue(ctx: Context, n: int, batch: int = 200) -> list[uuid.UUID]:
    """`n` runs on new threads, created as `POST /v1/runs` creates them, `batch` per transaction."""
    ids: list[uuid.UUID] = []
    sessions = make_sessionmaker(ctx.engine)
    for start in range(0, n, batch):
        async with sessions() as session:
            service = RunService(session, ctx.registry, ctx.settings)
            for i in range(start, min(n, start + batch)):
                run = await service.create(ctx.principal, RunCreate(agent=AGENT, message=f"ping {i}"))
                ids.append(run.id)
            await session.commit()
    return ids


async def _outcomes(ctx: Context, ids: Sequence[uuid.UUID]) -> dict[str, int]:
    async with ctx.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT status, count(*) FROM runs WHERE id = ANY(CAST(:ids AS uuid[])) GROUP BY status"),
            {"ids": list(ids)},
        )
        return {str(status): int(count) for status, count in rows}


# --- the worker process ------------------------------------------------------------------------------------


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
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# --- CPU accounting ----------------------------------------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float | None:
    """utime + stime of a local process, from /proc (None when it is gone or not visible)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS


class CpuSampler:
    """Samples, every `interval`, the CPU time used so far by the worker process and by the PostgreSQL backends
    connected to our database (when they are local processes), to split a time window's CPU between them."""

    def __init__(self, ctx: Context, worker_pid: int, interval: float = 0.05) -> None:
        self.ctx = ctx
        self.worker_pid = worker_pid
        self.interval = interval
        self.samples: list[tuple[float, float, float]] = []  # (wall clock, worker CPU, backends' CPU)
        self._backends: dict[int, float] = {}  # pid → CPU seconds at first sight (0 for backends born later)
        self._last: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def _refresh_backends(self, first: bool) -> None:
        async with self.ctx.engine.connect() as connection:
            pids = (
                await connection.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid()"
                    )
                )
            ).scalars()
            for pid in pids:
                if pid not in self._backends:
                    seen = _cpu_seconds(pid)
                    if seen is not None:
                        self._backends[pid] = seen if first else 0.0

    async def _run(self) -> None:
        ticks = 0
        while True:
            if ticks % 10 == 0:
                await self._refresh_backends(first=ticks == 0)
            worker = _cpu_seconds(self.worker_pid)
            if worker is None:
                return
            for pid in self._backends:
                now = _cpu_seconds(pid)
                if now is not None:
                    self._last[pid] = now
            backends = sum(self._last.get(pid, base) - base for pid, base in self._backends.items())
            self.samples.append((time.time(), worker, backends))
            ticks += 1
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _at(self, when: float) -> tuple[float, float] | None:
        before = [s for s in self.samples if s[0] <= when]
        after = [s for s in self.samples if s[0] >= when]
        if not before or not after:
            return None
        (t0, w0, b0), (t1, w1, b1) = before[-1], after[0]
        share = 0.0 if t1 == t0 else (when - t0) / (t1 - t0)
        return w0 + (w1 - w0) * share, b0 + (b1 - b0) * share

    def used(self, start: datetime, end: datetime) -> tuple[float, float] | None:
        """(worker, backends) CPU seconds between two database timestamps (same machine, same clock)."""
        first, last = self._at(start.timestamp()), self._at(end.timestamp())
        if first is None or last is None:
            return None
        return last[0] - first[0], last[1] - first[1]


# --- throughput --------------------------------------------------------------------------------------------


async def throughput(ctx: Context, concurrency: int, n: int, profile: Path | None = None) -> Throughput:
    await reset(ctx)
    ids = await enqueue(ctx, n)
    began = time.monotonic()
    async with worker_process(ctx, concurrency, drain=True, profile=profile) as (process, log_path):
        sampler = CpuSampler(ctx, process.pid)
        sampler.start()
        try:
            code = await process.wait()
        finally:
            await sampler.stop()
    process_seconds = time.monotonic() - began
    if code != 0:
        raise RuntimeError(f"the worker exited with {code}; its log ends with:\n{_tail(log_path)}")
    counted = await _outcomes(ctx, ids)
    if counted != {"succeeded": n}:
        raise RuntimeError(f"expected {n} succeeded runs, found {counted}; worker log:\n{_tail(log_path)}")
    async with ctx.engine.connect() as connection:
        first, last = (
            await connection.execute(
                text("SELECT min(started_at), max(finished_at) FROM runs WHERE id = ANY(CAST(:ids AS uuid[]))"),
                {"ids": ids},
            )
        ).one()
        wrong = (
            await connection.execute(
                text(
                    "SELECT count(*) FROM runs WHERE id = ANY(CAST(:ids AS uuid[])) "
                    "AND (output <> CAST('\"ok\"' AS jsonb) OR output IS NULL)"
                ),
                {"ids": ids},
            )
        ).scalar_one()
        sequences = Counter(
            (
                await connection.execute(
                    text(
                        "SELECT string_agg(type, ',' ORDER BY seq) FROM run_events "
                        "WHERE run_id = ANY(CAST(:ids AS uuid[])) GROUP BY run_id"
                    ),
                    {"ids": ids},
                )
            ).scalars()
        )
    if wrong:
        raise RuntimeError(f"{wrong} runs did not answer 'ok'")
    if len(sequences) != 1:
        raise RuntimeError(f"runs wrote different events: {sequences.most_common(5)}")
    seconds = (last - first).total_seconds()
    cpu = sampler.used(first, last)
    return Throughput(
        concurrency=concurrency,
        runs=n,
        seconds=round(seconds, 3),
        process_seconds=round(process_seconds, 3),
        runs_per_second=round(n / seconds, 1),
        worker_cpu_ms_per_run=round(cpu[0] * 1000 / n, 2) if cpu else None,
        postgres_cpu_ms_per_run=round(cpu[1] * 1000 / n, 2) if cpu and cpu[1] > 0 else None,
        events_per_run=next(iter(sequences)),
    )


# --- latency -----------------------------------------------------------------------------------------------


def _logged(log_path: Path, marker: str) -> bool:
    return marker in log_path.read_text(errors="replace")


async def _wait_for_log(process: asyncio.subprocess.Process, log_path: Path, marker: str) -> None:
    try:
        async with asyncio.timeout(60):
            while not _logged(log_path, marker):
                if process.returncode is not None:
                    raise RuntimeError(f"the worker exited with {process.returncode}")
                await asyncio.sleep(0.05)
    except (TimeoutError, RuntimeError) as exc:
        raise RuntimeError(
            f"the worker did not log {marker!r} ({exc}); its log ends with:\n{_tail(log_path)}"
        ) from None


async def _wait_settled(ctx: Context, ids: Sequence[uuid.UUID], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        counted = await _outcomes(ctx, ids)
        if counted.get("succeeded", 0) == len(ids):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"runs did not all succeed within {seconds}s: {counted}")
        await asyncio.sleep(0.1)


async def _create_one(ctx: Context, index: int) -> tuple[uuid.UUID, datetime]:
    async with make_sessionmaker(ctx.engine)() as session:
        run = await RunService(session, ctx.registry, ctx.settings).create(
            ctx.principal, RunCreate(agent=AGENT, message=f"latency {index}")
        )
        committing = (await session.execute(text("SELECT clock_timestamp()"))).scalar_one()
        await session.commit()
    return run.id, committing


def _percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))  # nearest rank
    return ordered[rank]


async def latency(ctx: Context, concurrency: int, count: int, spacing_ms: float, warmup: int = 20) -> Latency:
    await reset(ctx)
    async with worker_process(ctx, concurrency, drain=False) as (process, log_path):
        await _wait_for_log(process, log_path, "worker.started")
        warm = []
        for i in range(warmup):  # first-use costs (imports, prepared statements) are not what we measure
            warm.append((await _create_one(ctx, -i))[0])
            await asyncio.sleep(spacing_ms / 1000)
        await _wait_settled(ctx, warm, 60)
        await asyncio.sleep(0.5)  # idle again
        committed: dict[uuid.UUID, datetime] = {}
        for i in range(count):
            run_id, at = await _create_one(ctx, i)
            committed[run_id] = at
            await asyncio.sleep(spacing_ms / 1000)
        await _wait_settled(ctx, list(committed), 120)
    async with ctx.engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT id, created_at, started_at FROM runs WHERE id = ANY(CAST(:ids AS uuid[]))"),
                {"ids": list(committed)},
            )
        ).all()
    from_commit = [(started - committed[run_id]).total_seconds() * 1000 for run_id, _, started in rows]
    from_created = [(started - created).total_seconds() * 1000 for _, created, started in rows]
    return Latency(
        concurrency=concurrency,
        runs=count,
        spacing_ms=spacing_ms,
        p50_ms=round(statistics.median(from_commit), 2),
        p90_ms=round(_percentile(from_commit, 90), 2),
        p99_ms=round(_percentile(from_commit, 99), 2),
        max_ms=round(max(from_commit), 2),
        created_p50_ms=round(statistics.median(from_created), 2),
        created_p99_ms=round(_percentile(from_created, 99), 2),
    )


# --- the agent alone --------------------------------------------------------------------------------------


async def agent_alone(ctx: Context, n: int = 1000) -> float:
    """CPU ms per run of the bench agent driven as the executor drives it (node by node, streamed, with the run
    ledger capability and usage limits) but with no database at all, in this process: the floor under the
    worker's CPU per run, whatever the engine does. The best of 5 batches (the least disturbed)."""
    registered = ctx.registry.require(AGENT)
    deps = AgentDeps(user=ctx.principal)

    async def once() -> None:
        ledger = RunLedger(engine=ctx.engine, run_id=uuid.uuid4(), owner="bench", attempt=1)
        async with registered.spec.agent.iter(
            "ping",
            deps=deps,
            model=registered.model.model,
            model_settings=registered.model.settings,
            usage_limits=UsageLimits(request_limit=50),
            capabilities=[ledger],
        ) as run:
            async for node in run:
                if Agent.is_end_node(node):
                    break
                if Agent.is_model_request_node(node) or Agent.is_call_tools_node(node):
                    async with node.stream(run.ctx) as stream:
                        async for _ in stream:
                            pass

    for _ in range(50):
        await once()
    batches: list[float] = []
    for _ in range(5):
        began = time.process_time()
        for _ in range(n // 5):
            await once()
        batches.append((time.process_time() - began) * 1000 / (n // 5))
    return round(min(batches), 2)


# --- report ------------------------------------------------------------------------------------------------


def _git_commit() -> str:
    head = ROOT / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            return (ROOT / ".git" / ref[5:]).read_text().strip()[:12]
        return ref[:12]
    except OSError:
        return "unknown"


async def _server_version(ctx: Context) -> str:
    async with ctx.engine.connect() as connection:
        return str((await connection.execute(text("SHOW server_version"))).scalar_one()).split()[0]


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} ms"


def print_table(report: dict[str, Any]) -> None:
    rows: list[tuple[str, str, str]] = []
    best = report["throughput"]
    if best is not None:
        rows += [
            ("throughput", f"{best['runs_per_second']:.0f} runs/s", f"target >= {TARGET_RUNS_PER_SECOND:.0f}"),
            ("  runs drained", str(best["runs"]), f"by one worker process, concurrency {best['concurrency']}"),
            ("  drain time", f"{best['seconds']:.2f} s", f"worker process lifetime {best['process_seconds']:.2f} s"),
            (
                "  CPU per run",
                f"worker {_ms(best['worker_cpu_ms_per_run'])}",
                f"PostgreSQL backends {_ms(best['postgres_cpu_ms_per_run'])}",
            ),
            ("  events per run", best["events_per_run"], ""),
        ]
        rows += [
            (f"  concurrency {t['concurrency']}", f"{t['runs_per_second']:.0f} runs/s", _ms(t["worker_cpu_ms_per_run"]))
            for t in report["throughput_tried"]
        ]
    alone = report["agent_alone_cpu_ms_per_run"]
    rows.append(
        (
            "  agent alone",
            f"{alone:.2f} ms CPU",
            f"per run, pydantic-ai without any database: one process tops out near {1000 / alone:.0f} runs/s",
        )
    )
    lat = report["latency"]
    if lat is not None:
        rows += [
            ("enqueue->start p50", f"{lat['p50_ms']:.1f} ms", f"target < {TARGET_P50_MS:.0f} ms"),
            (
                "enqueue->start p99",
                f"{lat['p99_ms']:.1f} ms",
                f"p90 {lat['p90_ms']:.1f} ms, max {lat['max_ms']:.1f} ms",
            ),
            ("  from created_at", f"p50 {lat['created_p50_ms']:.1f} ms", f"p99 {lat['created_p99_ms']:.1f} ms"),
            ("  samples", str(lat["runs"]), f"one at a time, {lat['spacing_ms']:.0f} ms apart, idle worker"),
        ]
    rows += [
        ("database", report["database"], f"PostgreSQL {report['postgres']}"),
        ("machine", f"{report['cpus']} CPUs", f"{report['cpu']}; load average {report['load_average']}"),
        ("versions", f"Python {report['python']}", report["libraries"]),
        ("commit", report["commit"], "targets met" if report["targets_met"] else "TARGETS MISSED"),
    ]
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows if not r[0].startswith("  events"))
    print("Run engine benchmark")
    for label, value, note in rows:
        print(f"  {label:<{width}}  {value:<{value_width}}  {note}".rstrip())


def print_profile(path: Path, limit: int = 25) -> None:
    stats = pstats.Stats(str(path))
    stats.strip_dirs()
    print(f"\nProfile of the draining worker ({path}), by own time:")
    stats.sort_stats("tottime").print_stats(limit)
    print("By cumulative time:")
    stats.sort_stats("cumulative").print_stats(limit)


# --- main --------------------------------------------------------------------------------------------------


def _ints(value: str) -> list[int]:
    return [int(part) for part in value.split(",") if part.strip()]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run_engine", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5000, help="runs drained per throughput measurement")
    parser.add_argument("--concurrency", type=_ints, default=[16, 32, 64], help="worker concurrencies to try")
    parser.add_argument("--latency-runs", type=int, default=200, help="runs created one at a time")
    parser.add_argument("--spacing-ms", type=float, default=15.0, help="pause after each latency run's commit")
    parser.add_argument("--latency-concurrency", type=int, default=None, help="default: the best throughput C")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="",
        default=None,
        metavar="OUT.prof",
        help="then drain once more under cProfile, print the top costs (and keep the stats in OUT.prof)",
    )
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="worker environment")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


def _workdir() -> Path:
    workdir = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
    workdir.chmod(0o755)  # the embedded server runs as its own system user when we are root
    return workdir


async def main_async(args: argparse.Namespace) -> int:
    overrides = dict(item.split("=", 1) for item in args.set)
    workdir = _workdir()
    load_before = os.getloadavg()
    try:
        async with bench_database(workdir) as (url, kind):
            ctx = await prepare(url, workdir, overrides)
            try:
                report = await measure(ctx, args, kind)
            finally:
                await ctx.engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    load_after = os.getloadavg()
    report["load_average"] = f"{load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min)"
    print_table(report)
    print(json.dumps(report, separators=(",", ":")))
    if args.profile is not None:
        print_profile(Path(args.profile))
    return 1 if args.check and not report["targets_met"] else 0


async def measure(ctx: Context, args: argparse.Namespace, kind: str) -> dict[str, Any]:
    tried: list[Throughput] = []
    if not args.skip_throughput:
        for concurrency in args.concurrency:
            result = await throughput(ctx, concurrency, args.runs)
            print(
                f"drained {result.runs} runs at concurrency {concurrency}: {result.runs_per_second:.0f} runs/s",
                file=sys.stderr,
            )
            tried.append(result)
    best = max(tried, key=lambda t: t.runs_per_second) if tried else None
    lat: Latency | None = None
    if not args.skip_latency:
        concurrency = args.latency_concurrency or (best.concurrency if best else args.concurrency[0])
        lat = await latency(ctx, concurrency, args.latency_runs, args.spacing_ms)
        print(f"latency at concurrency {concurrency}: p50 {lat.p50_ms} ms, p99 {lat.p99_ms} ms", file=sys.stderr)
    if args.profile is not None:
        args.profile = args.profile or str(Path(tempfile.gettempdir()) / "switchboard-bench-worker.prof")
        await throughput(ctx, best.concurrency if best else args.concurrency[0], args.runs, Path(args.profile))
    alone = await agent_alone(ctx)
    met = (best is None or best.runs_per_second >= TARGET_RUNS_PER_SECOND) and (
        lat is None or lat.p50_ms < TARGET_P50_MS
    )
    return {
        "bench": "run_engine",
        "targets_met": met,
        "throughput": asdict(best) if best else None,
        "throughput_tried": [asdict(t) for t in tried],
        "latency": asdict(lat) if lat else None,
        "agent_alone_cpu_ms_per_run": alone,
        "database": kind,
        "postgres": await _server_version(ctx),
        "cpus": os.cpu_count(),
        "cpu": _cpu(),
        "python": platform.python_version(),
        "libraries": ", ".join(f"{name} {version(name)}" for name in ("pydantic-ai-slim", "sqlalchemy", "asyncpg")),
        "commit": _git_commit(),
        "worker_settings": ctx.overrides,
    }


def main(argv: Sequence[str] | None = None) -> None:
    configure_logging("WARNING", "console")  # stdout: the table and the JSON line only
    sys.exit(asyncio.run(main_async(parse_args(argv))))


if __name__ == "__main__":
    main()
