"""Throughput: N runs are enqueued through `RunService.create` (the code path `POST /v1/runs` takes), then ONE
`switchboard worker --drain --concurrency C` process drains them. Runs per second = N / (last run's finished_at
- first run's started_at), both database timestamps, so process start-up is excluded. Each run does everything
a real one does: claim under a lease, load, write its messages, steps and numbered events (fenced by the lease),
settle. Every run is checked: succeeded, answered "ok", and wrote the same events as every other.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from bench.cpu import CpuSampler
from bench.database import Context, enqueue, outcomes, reset
from bench.worker import tail, worker_process


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
        raise RuntimeError(f"the worker exited with {code}; its log ends with:\n{tail(log_path)}")
    counted = await outcomes(ctx, ids)
    if counted != {"succeeded": n}:
        raise RuntimeError(f"expected {n} succeeded runs, found {counted}; worker log:\n{tail(log_path)}")
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
