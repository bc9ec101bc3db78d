"""Settle→first attempt: with one idle `switchboard worker` process running (its dispatcher waiting on NOTIFY),
runs of the bench agent are created one at a time, `spacing` apart; the worker executes each, and its settle
transaction writes the run's final state and the outbox message and delivery together (then NOTIFY). Latency
= the delivery's first attempt's `started_at` (delivery_attempts) minus the run's `finished_at`, both clocks of
this machine. The sink's arrival time minus `finished_at` is reported beside it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text

from bench import percentile
from bench.agent import AGENT
from bench.database import Context
from bench.delivery_checks import Checked, check
from bench.delivery_load import clear_runs
from bench.delivery_sink import SinkProcess
from bench.worker import tail, worker_process
from switchboard.kit.db import make_sessionmaker
from switchboard.runs.schemas import RunCreate
from switchboard.runs.service import RunService

RUN_CONCURRENCY = 8  # the default
_SENT = text("""
SELECT count(*) FROM deliveries d JOIN outbox_messages m ON m.id = d.message_id
WHERE m.run_id = ANY(:ids) AND d.status = 'succeeded'
""")
_TIMES = text("""
SELECT d.id, m.id AS message_id, r.finished_at,
       (SELECT min(a.started_at) FROM delivery_attempts a WHERE a.delivery_id = d.id) AS first_attempt
FROM runs r JOIN outbox_messages m ON m.run_id = r.id JOIN deliveries d ON d.message_id = m.id
WHERE r.id = ANY(:ids)
""")


@dataclass
class Latency:
    dispatcher_concurrency: int
    runs: int
    spacing_ms: float
    p50_ms: float  # first attempt's started_at - the run's finished_at
    p95_ms: float
    p99_ms: float
    max_ms: float
    arrival_p50_ms: float  # the sink's arrival time - the run's finished_at
    arrival_p99_ms: float
    checks: Checked


async def _create(ctx: Context, index: int) -> uuid.UUID:
    async with make_sessionmaker(ctx.engine)() as session:
        run, _ = await RunService(session, ctx.registry, ctx.settings).create(
            ctx.principal, RunCreate(agent=AGENT, message=f"latency {index}")
        )
        await session.commit()
    return run.id


async def _wait_sent(ctx: Context, ids: Sequence[uuid.UUID], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        async with ctx.engine.connect() as connection:
            sent = (await connection.execute(_SENT, {"ids": list(ids)})).scalar_one()
        if sent == len(ids):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(ids) - sent} of {len(ids)} runs' deliveries not sent within {seconds:.0f} s")
        await asyncio.sleep(0.1)


async def _one_by_one(ctx: Context, count: int, spacing_ms: float, first: int = 0) -> list[uuid.UUID]:
    ids = []
    for i in range(count):
        ids.append(await _create(ctx, first + i))
        await asyncio.sleep(spacing_ms / 1000)
    return ids


async def latency(
    ctx: Context, sink: SinkProcess, secret: str, concurrency: int, count: int, spacing_ms: float, warmup: int = 20
) -> Latency:
    await clear_runs(ctx)
    settings = {**ctx.overrides, "SWITCHBOARD_DISPATCHER_CONCURRENCY": str(concurrency)}
    async with worker_process(dataclasses.replace(ctx, overrides=settings), RUN_CONCURRENCY, drain=False) as (
        _process,
        log_path,
    ):
        try:
            # First-use costs (imports, connections, prepared statements) are not what we measure; this also
            # waits for the worker to be up.
            await _wait_sent(ctx, await _one_by_one(ctx, warmup, spacing_ms, first=-warmup), 60)
            await sink.take()
            await asyncio.sleep(0.5)  # idle again
            ids = await _one_by_one(ctx, count, spacing_ms)
            await _wait_sent(ctx, ids, 120)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; the worker's log ends with:\n{tail(log_path)}") from None
    received = await sink.take()
    async with ctx.engine.connect() as connection:
        rows = (await connection.execute(_TIMES, {"ids": ids})).mappings().all()
    checked = await check(ctx, [row["id"] for row in rows], received, secret)
    arrived: dict[str, float] = {}
    for r in received:  # in arrival order: a retried delivery's first arrival is the one measured
        arrived.setdefault(r.webhook_id, r.at)
    waits = [(row["first_attempt"] - row["finished_at"]).total_seconds() * 1000 for row in rows]
    arrivals = [(arrived[f"msg_{row['message_id'].hex}"] - row["finished_at"].timestamp()) * 1000 for row in rows]
    return Latency(
        dispatcher_concurrency=concurrency,
        runs=count,
        spacing_ms=spacing_ms,
        p50_ms=round(statistics.median(waits), 2),
        p95_ms=round(percentile(waits, 95), 2),
        p99_ms=round(percentile(waits, 99), 2),
        max_ms=round(max(waits), 2),
        arrival_p50_ms=round(statistics.median(arrivals), 2),
        arrival_p99_ms=round(percentile(arrivals, 99), 2),
        checks=checked,
    )
