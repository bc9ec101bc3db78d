"""Latency: with an idle worker process already running (waiting on NOTIFY), runs are created one at a time,
each in its own transaction, a few ms apart. Enqueue→start = the run's started_at (set by the claim) minus the
moment the creating transaction was about to commit (clock_timestamp() as its last statement); the run's
created_at (the creating transaction's start, a few ms earlier still) is reported alongside.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import text

from bench import percentile
from bench.agent import AGENT
from bench.database import Context, outcomes, reset
from bench.worker import tail, worker_process
from switchboard.kit.db import make_sessionmaker
from switchboard.runs.schemas import RunCreate
from switchboard.runs.service import RunService


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
        raise RuntimeError(f"the worker did not log {marker!r} ({exc}); its log ends with:\n{tail(log_path)}") from None


async def _wait_settled(ctx: Context, ids: Sequence[uuid.UUID], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        counted = await outcomes(ctx, ids)
        if counted.get("succeeded", 0) == len(ids):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"runs did not all succeed within {seconds}s: {counted}")
        await asyncio.sleep(0.1)


async def _create_one(ctx: Context, index: int) -> tuple[uuid.UUID, datetime]:
    async with make_sessionmaker(ctx.engine)() as session:
        run, _ = await RunService(session, ctx.registry, ctx.settings).create(
            ctx.principal, RunCreate(agent=AGENT, message=f"latency {index}")
        )
        committing = (await session.execute(text("SELECT clock_timestamp()"))).scalar_one()
        await session.commit()
    return run.id, committing


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
        p90_ms=round(percentile(from_commit, 90), 2),
        p99_ms=round(percentile(from_commit, 99), 2),
        max_ms=round(max(from_commit), 2),
        created_p50_ms=round(statistics.median(from_created), 2),
        created_p99_ms=round(percentile(from_created, 99), 2),
    )
