"""Dispatcher throughput: N deliveries are due at once (finished runs' `run.succeeded`, written into the outbox
as the settle transaction writes them, to one endpoint: the sink), then ONE `switchboard worker` process starts
and its dispatcher sends them all. Deliveries per second = N / (last `delivered_at` - first attempt's
`started_at`), both from the database, so the process's start-up is not counted. The worker's CPU time and the
PostgreSQL backends' inside that window are reported per delivery (from /proc, like the run-engine bench's).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import text

from bench.cpu import CpuSampler, cpu_seconds
from bench.database import Context
from bench.delivery_checks import Checked, check
from bench.delivery_load import clear_outbox, write_notices
from bench.delivery_sink import SinkProcess
from bench.worker import tail, worker_process

RUN_CONCURRENCY = 8  # the worker's run loop (the default); it has nothing to run here
_DUE = text("SELECT count(*) FROM deliveries WHERE status IN ('pending', 'failed')")
_WINDOW = text("""
SELECT (SELECT min(started_at) FROM delivery_attempts), (SELECT max(delivered_at) FROM deliveries),
       (SELECT count(*) FROM delivery_attempts)
""")


@dataclass
class Throughput:
    dispatcher_concurrency: int
    deliveries: int
    seconds: float  # first attempt's started_at → last delivered_at
    deliveries_per_second: float
    attempts: int  # delivery_attempts rows (= deliveries unless some were retried)
    worker_cpu_ms_per_delivery: float | None  # the worker process's CPU time within the window, per delivery
    postgres_cpu_ms_per_delivery: float | None  # the database backends' serving our database, per delivery
    sink_cpu_ms_per_delivery: float | None  # the sink's, over the whole measurement (it is idle otherwise)
    checks: Checked


async def _wait_sent(ctx: Context, process: asyncio.subprocess.Process, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        async with ctx.engine.connect() as connection:
            due = (await connection.execute(_DUE)).scalar_one()
        if due == 0:
            return
        if process.returncode is not None:
            raise RuntimeError(f"the worker exited with {process.returncode} with {due} deliveries due")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{due} deliveries still due after {seconds:.0f} s")
        await asyncio.sleep(0.05)


async def throughput(
    ctx: Context, sink: SinkProcess, secret: str, run_ids: list[uuid.UUID], concurrency: int
) -> Throughput:
    await clear_outbox(ctx)
    await sink.take()  # nothing left over from an earlier measurement
    await write_notices(ctx, run_ids)
    async with ctx.engine.connect() as connection:
        delivery_ids = list((await connection.execute(text("SELECT id FROM deliveries"))).scalars())
    n = len(delivery_ids)
    settings = {**ctx.overrides, "SWITCHBOARD_DISPATCHER_CONCURRENCY": str(concurrency)}
    worker_ctx = dataclasses.replace(ctx, overrides=settings)
    sink_before = cpu_seconds(sink.pid)
    async with worker_process(worker_ctx, RUN_CONCURRENCY, drain=False) as (process, log_path):
        sampler = CpuSampler(ctx, process.pid)
        sampler.start()
        try:
            await _wait_sent(ctx, process, seconds=max(120.0, n / 20))
            await asyncio.sleep(2 * sampler.interval)  # a CPU sample after the last delivery's commit
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; the worker's log ends with:\n{tail(log_path)}") from None
        finally:
            await sampler.stop()
    sink_after = cpu_seconds(sink.pid)
    checked = await check(ctx, delivery_ids, await sink.take(), secret)
    async with ctx.engine.connect() as connection:
        first, last, attempts = (await connection.execute(_WINDOW)).one()
    seconds = (last - first).total_seconds()
    cpu = sampler.used(first, last)
    sink_cpu = sink_after - sink_before if sink_before is not None and sink_after is not None else None
    return Throughput(
        dispatcher_concurrency=concurrency,
        deliveries=n,
        seconds=round(seconds, 3),
        deliveries_per_second=round(n / seconds, 1),
        attempts=int(attempts),
        worker_cpu_ms_per_delivery=round(cpu[0] * 1000 / n, 3) if cpu else None,
        postgres_cpu_ms_per_delivery=round(cpu[1] * 1000 / n, 3) if cpu and cpu[1] > 0 else None,
        sink_cpu_ms_per_delivery=round(sink_cpu * 1000 / n, 3) if sink_cpu is not None else None,
        checks=checked,
    )
